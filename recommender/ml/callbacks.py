"""Callbacks of the training loop: time budget, early stopping, annealing, history, progress.

`fit` uses them in this order, which matters: the time budget marks the last epoch
before validation runs (so a last epoch is always evaluated); annealing reads what
early stopping decided this epoch; the history stamps the record that progress
reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .loop import Callback, LoopState

log = logging.getLogger(__name__)

# Called with a report dict; returning False stops training (raising aborts it).
ProgressCallback = Callable[[dict[str, Any]], Any]


class TimeBudget(Callback):
    """Stops training after the epoch during which `seconds` ran out (0 = no budget)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        if self.seconds and state.elapsed() > self.seconds:
            state.stop("time_cap")
            record["stopped_by"] = "time_cap"


class EarlyStopping(Callback):
    """Validates every `every` epochs (and at the last), keeps the best weights.

    Training stops once `patience` validations in a row bring no real gain: a new
    best resets the count only when it beats the previous best by more than
    `min_improvement` (relative), but any new best's weights are kept; the best
    weights are restored when training ends.

    Args:
        validate: Returns this epoch's validation metrics, e.g. {"val_ndcg@10": ...};
            they are added to the epoch's record.
        weights: The model's variables (objects with `numpy()` and `assign()`).
        every: Epochs between two validations.
        patience: Validations without a real gain before training stops.
        monitor: The key of `validate`'s result to maximise.
        min_improvement: Relative gain over the best that counts as progress
            (0.002: a best of 0.0760 must rise above 0.07615).
    """

    def __init__(
        self,
        validate: Callable[[], dict[str, float]],
        weights: Sequence[Any],
        *,
        every: int,
        patience: int,
        monitor: str = "val_ndcg@10",
        min_improvement: float = 0.0,
    ) -> None:
        self.validate, self.weights = validate, list(weights)
        self.every, self.patience, self.monitor = every, patience, monitor
        self.min_improvement = min_improvement
        self.best, self.best_epoch, self.waited = -1.0, 0, 0
        self.best_weights: list[np.ndarray] | None = None
        self.plateau = False  # this epoch's validation brought no real gain

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        self.plateau = False
        if state.epoch % self.every == 0 or state.is_last_epoch():
            scores = self.validate()
            record.update(scores)
            self._compare(state.epoch, scores[self.monitor])
        if self.waited >= self.patience:
            state.stop("early_stopping")

    def _compare(self, epoch: int, score: float) -> None:
        # The first score always counts; a best of 0 must still be beaten.
        threshold = self.best * (1.0 + self.min_improvement) if self.best > 0 else self.best
        progress = score > threshold
        if score > self.best:
            self.best, self.best_epoch = score, epoch
            self.best_weights = [variable.numpy().copy() for variable in self.weights]
        if progress:
            self.waited = 0
        else:
            self.waited += 1
            self.plateau = True

    def restore_best_weights(self) -> None:
        if self.best_weights is not None:
            for variable, value in zip(self.weights, self.best_weights, strict=True):
                variable.assign(value)

    def on_train_end(self, state: LoopState) -> None:
        self.restore_best_weights()


class AnnealOnPlateau(Callback):
    """At a validation plateau, goes on from the best weights at `factor` times the rate.

    `record["learning_rate"]` holds the new rate. `optimizer` is a Keras optimizer
    (a `LossScaleOptimizer` forwards its learning rate).
    """

    def __init__(self, early_stopping: EarlyStopping, optimizer: Any, factor: float) -> None:
        self.early_stopping, self.optimizer, self.factor = early_stopping, optimizer, factor

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        if not self.early_stopping.plateau or self.early_stopping.best_weights is None:
            return
        self.early_stopping.restore_best_weights()
        learning_rate = float(self.optimizer.learning_rate.numpy()) * self.factor
        self.optimizer.learning_rate = learning_rate
        record["learning_rate"] = learning_rate


class History(Callback):
    """Keeps every epoch's record, stamped with the seconds elapsed since the start."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        record["elapsed"] = state.elapsed()
        self.records.append(record)
        log.info("epoch %s %s", state.epoch, record)


class ProgressReport(Callback):
    """Reports every `every` steps and every epoch to `report`; False from it stops.

    Step reports: {"stage": "step", "epoch", "epochs" (at most), "step", "steps",
    "loss", "elapsed"}; epoch reports add "val_ndcg@10" (None when not validated),
    "best_val_ndcg@10" (from `early_stopping`), "improved" (this epoch's validation
    was a new best) and "stopped_by" (why training ends after this epoch: "time_cap",
    "early_stopping", "cancelled", "max_epochs"; "" while it goes on), with "elapsed"
    from the history.
    """

    def __init__(self, report: ProgressCallback, every: int, early_stopping: EarlyStopping) -> None:
        self.report, self.every, self.early_stopping = report, every, early_stopping

    def on_step_end(self, state: LoopState, step: int, loss: float) -> None:
        if (step + 1) % self.every == 0:
            report = {
                "stage": "step",
                "epoch": state.epoch,
                "epochs": state.max_epochs,
                "step": step + 1,
                "steps": state.steps_per_epoch,
                "loss": loss,
                "elapsed": state.elapsed(),
            }
            self._send(state, report)

    def on_epoch_end(self, state: LoopState, record: dict[str, Any]) -> None:
        report = {
            "stage": "epoch",
            "epoch": state.epoch,
            "epochs": state.max_epochs,
            "step": state.steps_per_epoch,
            "steps": state.steps_per_epoch,
            "loss": record["loss"],
            "val_ndcg@10": record.get("val_ndcg@10"),
            "best_val_ndcg@10": self.early_stopping.best,
            "improved": "val_ndcg@10" in record and self.early_stopping.best_epoch == state.epoch,
            "stopped_by": state.stop_reason(),
            "elapsed": record["elapsed"],
        }
        self._send(state, report)

    def _send(self, state: LoopState, report: dict[str, Any]) -> None:
        if self.report(report) is False:
            state.stop("cancelled")
