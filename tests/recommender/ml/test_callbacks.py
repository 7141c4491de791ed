"""Callback decisions on scripted validation scores and clocks."""

import keras
import numpy as np
import pytest

from recommender.ml.callbacks import (
    AnnealOnPlateau,
    EarlyStopping,
    History,
    ProgressReport,
    TimeBudget,
)
from recommender.ml.loop import LoopState


class Weight:
    """A model variable: numpy() and assign()."""

    def __init__(self, value):
        self.value = np.array(value, dtype=float)

    def numpy(self):
        return self.value

    def assign(self, value):
        self.value = np.array(value, dtype=float)


def scripted(scores):
    """A validate() returning the next score, with HR alongside as the fit's does."""
    remaining = list(scores)
    return lambda: {"val_ndcg@10": remaining.pop(0), "val_hr@10": 0.0}


def run_epochs(callbacks, max_epochs, on_epoch=None):
    """Calls the epoch hooks as the loop does; returns the records and the state."""
    state, records = LoopState(max_epochs, steps_per_epoch=1), []
    for epoch in range(1, max_epochs + 1):
        state.epoch = epoch
        if on_epoch:
            on_epoch(epoch)
        record = {"epoch": epoch, "loss": 1.0 / epoch}
        for callback in callbacks:
            callback.on_epoch_end(state, record)
        records.append(record)
        if state.stop_training or epoch == max_epochs:
            break
    for callback in callbacks:
        callback.on_train_end(state)
    return records, state


def test_patience_counts_validations_without_a_new_best_and_the_best_weights_return():
    weight = Weight([0.0])
    stopping = EarlyStopping(scripted([0.1, 0.3, 0.2, 0.25, 0.9]), [weight], every=1, patience=2)
    records, state = run_epochs([stopping], 10, on_epoch=lambda e: weight.assign([e]))
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]  # 0.2 and 0.25 < 0.3: stop
    assert (stopping.best, stopping.best_epoch, stopping.waited) == (0.3, 2, 2)
    assert weight.value.tolist() == [2.0]  # the epoch-2 weights, restored at the end
    assert state.stop_training


def test_a_gain_below_the_minimum_keeps_its_weights_but_counts_towards_patience():
    weight = Weight([0.0])
    # 0.5005 and 0.5008 beat the best by less than 1%: kept, yet no progress.
    scores = [0.4, 0.5, 0.5005, 0.5008, 0.9]
    stopping = EarlyStopping(scripted(scores), [weight], every=1, patience=2, min_improvement=0.01)
    records, state = run_epochs([stopping], 10, on_epoch=lambda e: weight.assign([e]))
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert (stopping.best, stopping.best_epoch, stopping.waited) == (0.5008, 4, 2)
    assert weight.value.tolist() == [4.0]  # the best weights, though no real gain
    assert state.stop_reason() == "early_stopping"
    plain = EarlyStopping(scripted(scores), [], every=1, patience=2)
    records, _ = run_epochs([plain], 5)
    assert len(records) == 5 and plain.best == 0.9  # without a minimum, every gain counts


def test_a_validation_stuck_at_zero_still_runs_out_of_patience():
    stopping = EarlyStopping(scripted([0.0] * 5), [], every=1, patience=2, min_improvement=0.01)
    records, state = run_epochs([stopping], 10)
    assert len(records) == 3 and state.stop_reason() == "early_stopping"


def test_validation_runs_every_few_epochs_and_at_the_last():
    stopping = EarlyStopping(scripted([0.1, 0.2, 0.3]), [], every=2, patience=5)
    records, _ = run_epochs([stopping], 5)
    assert [r.get("val_ndcg@10") for r in records] == [None, 0.1, None, 0.2, 0.3]
    assert list(records[1]) == ["epoch", "loss", "val_ndcg@10", "val_hr@10"]


def test_a_plateau_goes_on_from_the_best_weights_at_a_lower_rate():
    weight = Weight([0.0])
    optimizer = keras.optimizers.Adam(0.1)
    stopping = EarlyStopping(scripted([0.5, 0.4, 0.6, 0.6, 0.7]), [weight], every=1, patience=9)
    annealing = AnnealOnPlateau(stopping, optimizer, factor=0.5)
    records, _ = run_epochs([stopping, annealing], 5, on_epoch=lambda e: weight.assign([10 * e]))
    rates = [r.get("learning_rate") for r in records]
    assert rates == [None, pytest.approx(0.05), None, pytest.approx(0.025), None]
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.025)
    assert stopping.best_epoch == 5 and stopping.waited == 0  # a new best resets the count


def test_annealing_restores_the_best_weights_when_it_lowers_the_rate():
    weight = Weight([0.0])
    stopping = EarlyStopping(scripted([0.5, 0.4]), [weight], every=1, patience=9)
    annealing = AnnealOnPlateau(stopping, keras.optimizers.Adam(0.1), factor=0.5)
    state = LoopState(2, 1)
    for epoch in (1, 2):
        state.epoch = epoch
        weight.assign([epoch])
        for callback in (stopping, annealing):
            callback.on_epoch_end(state, {})
    assert weight.value.tolist() == [1.0]


def test_the_time_budget_ends_training_after_the_epoch_it_runs_out_in():
    state = LoopState(10, 1, started=0.0)  # perf_counter's origin: long ago
    TimeBudget(60).on_epoch_end(state, {})
    assert state.stop_training
    fresh = LoopState(10, 1)
    TimeBudget(60).on_epoch_end(fresh, {})
    TimeBudget(0).on_epoch_end(state, {})  # 0 = no budget
    assert not fresh.stop_training


def test_a_budget_stop_still_validates_that_last_epoch():
    stopping = EarlyStopping(scripted([0.1, 0.2]), [], every=5, patience=5)
    state = LoopState(10, 1, started=0.0)
    state.epoch = 1
    record = {}
    for callback in (TimeBudget(1), stopping):
        callback.on_epoch_end(state, record)
    assert record["val_ndcg@10"] == 0.1


def test_progress_reports_every_few_steps_and_each_epoch_and_false_stops():
    reports = []
    stopping = EarlyStopping(scripted([0.3]), [], every=1, patience=5)

    def report(r):
        reports.append(r)
        return not (r["stage"] == "step" and r["step"] == 4)

    progress = ProgressReport(report, 2, stopping)
    state = LoopState(3, steps_per_epoch=5)
    state.epoch = 1
    for step in range(3):
        progress.on_step_end(state, step, loss=0.5)
    assert [r["step"] for r in reports] == [2] and not state.stop_training
    progress.on_step_end(state, 3, loss=0.5)
    assert state.stop_training
    record = {"epoch": 1, "loss": 0.5}
    for callback in (stopping, History(), progress):
        callback.on_epoch_end(state, record)
    assert reports[-1]["stage"] == "epoch"
    assert reports[-1]["best_val_ndcg@10"] == 0.3 and reports[-1]["val_ndcg@10"] == 0.3
    assert reports[-1]["step"] == reports[-1]["steps"] == 5


def test_history_keeps_each_record_with_the_elapsed_time():
    history = History()
    state = LoopState(2, 1)
    state.epoch = 1
    history.on_epoch_end(state, {"epoch": 1})
    assert history.records[0]["epoch"] == 1 and history.records[0]["elapsed"] >= 0
