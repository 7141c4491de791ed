"""The training loop: steps, hooks in order, stops."""

import numpy as np

from recommender.ml.loop import Callback, LoopState, run_training_loop


class Batches:
    """Three one-row batches an epoch."""

    steps_per_epoch = 3

    def epoch(self):
        return [np.array([0]), np.array([1]), np.array([2])]

    def inputs(self, rows):
        return (rows, rows, rows, rows)


class Recorder(Callback):
    def __init__(self, stop_at_step=None, stop_at_epoch=None):
        self.calls = []
        self.stop_at_step, self.stop_at_epoch = stop_at_step, stop_at_epoch

    def on_step_end(self, state, step, loss):
        self.calls.append(("step", state.epoch, step, loss))
        if (state.epoch, step) == self.stop_at_step:
            state.stop_training = True

    def on_epoch_end(self, state, record):
        self.calls.append(("epoch", record["epoch"], record["loss"]))
        if state.epoch == self.stop_at_epoch:
            state.stop_training = True

    def on_train_end(self, state):
        self.calls.append(("end", state.epoch))


def train_step(items, events, gaps, targets):
    return float(items[0])


def test_epochs_run_every_step_then_the_epoch_hooks_until_max_epochs():
    recorder = Recorder()
    run_training_loop(train_step, Batches(), [recorder], LoopState(2, 3))
    assert recorder.calls == [
        ("step", 1, 0, 0.0),
        ("step", 1, 1, 1.0),
        ("step", 1, 2, 2.0),
        ("epoch", 1, 1.0),
        ("step", 2, 0, 0.0),
        ("step", 2, 1, 1.0),
        ("step", 2, 2, 2.0),
        ("epoch", 2, 1.0),
        ("end", 2),
    ]


def test_a_stop_during_the_steps_ends_the_epoch_early_but_still_ends_it():
    recorder = Recorder(stop_at_step=(2, 0))
    run_training_loop(train_step, Batches(), [recorder], LoopState(5, 3))
    assert recorder.calls[-3:] == [("step", 2, 0, 0.0), ("epoch", 2, 0.0), ("end", 2)]


def test_a_stop_at_an_epoch_end_is_seen_by_the_later_callbacks_of_that_epoch():
    first, second = Recorder(stop_at_epoch=1), Recorder()
    run_training_loop(train_step, Batches(), [first, second], LoopState(5, 3))
    assert second.calls[-2:] == [("epoch", 1, 1.0), ("end", 1)]
