"""The training loop: epochs of steps, with callbacks that report, evaluate and stop.

Like Keras' `fit`, the loop itself only runs steps and calls hooks; what happens at
the end of a step or an epoch (progress reports, validation, early stopping,
annealing, the time budget) lives in callbacks (`callbacks.py`). Callbacks run in
list order, and a later callback sees what an earlier one wrote into the epoch's
record or into `LoopState.stop_training`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .batching import TrainingBatches

# One optimisation step on (items, events, gaps, targets); returns the loss.
TrainStep = Callable[..., Any]


@dataclass
class LoopState:
    """What callbacks may read, and `stop_training`, which any of them may set."""

    max_epochs: int
    steps_per_epoch: int
    started: float = field(default_factory=time.perf_counter)
    epoch: int = 0
    stop_training: bool = False
    # Why training ends: "time_cap", "early_stopping", "cancelled", or "max_epochs"
    # (the first callback to stop training names it).
    stopped_by: str = ""

    def stop(self, reason: str) -> None:
        """Ends training after this epoch (or this step), for `reason`."""
        self.stop_training = True
        self.stopped_by = self.stopped_by or reason

    def elapsed(self) -> float:
        """Seconds since training started."""
        return time.perf_counter() - self.started

    def is_last_epoch(self) -> bool:
        """Whether training ends after this epoch whatever the validation says."""
        return self.stop_training or self.epoch == self.max_epochs

    def stop_reason(self) -> str:
        """Why training ends after this epoch ("" while it goes on)."""
        if self.stopped_by:
            return self.stopped_by
        return "max_epochs" if self.epoch == self.max_epochs else ""


class Callback:
    """Hooks of the training loop; each does nothing unless overridden."""

    def on_step_end(self, state: LoopState, step: int, loss: float) -> None:
        """After step `step` (0-based) of `state.epoch`."""

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        """After an epoch; `record` holds epoch, loss and epoch_seconds, and grows."""

    def on_train_end(self, state: LoopState) -> None:
        """Once, after the last epoch."""


def run_training_loop(
    train_step: TrainStep,
    batches: TrainingBatches,
    callbacks: Sequence[Callback],
    state: LoopState,
) -> None:
    """Trains epoch after epoch until `state.max_epochs` or a callback stops training.

    A stop requested during an epoch's steps ends that epoch early; its epoch-end
    hooks still run (so the last epoch is evaluated and reported).
    """
    for epoch in range(1, state.max_epochs + 1):
        state.epoch = epoch
        epoch_started = time.perf_counter()
        losses = _train_one_epoch(train_step, batches, callbacks, state)
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": float(np.mean(losses)) if losses else 0.0,
            "epoch_seconds": time.perf_counter() - epoch_started,
        }
        for callback in callbacks:
            callback.on_epoch_end(state, record)
        if state.stop_training or epoch == state.max_epochs:
            break
    for callback in callbacks:
        callback.on_train_end(state)


def _train_one_epoch(
    train_step: TrainStep,
    batches: TrainingBatches,
    callbacks: Sequence[Callback],
    state: LoopState,
) -> list[float]:
    losses = []
    for step, rows in enumerate(batches.epoch()):
        loss = float(train_step(*batches.inputs(rows)))
        losses.append(loss)
        for callback in callbacks:
            callback.on_step_end(state, step, loss)
        if state.stop_training:
            break
    return losses
