"""What a run records for its live page: each epoch's figures once and rounded, its
stage, and why training stopped (the time cap while validation still improved says so)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
from django.utils import timezone

from recommender.ml.callbacks import EarlyStopping, History, ProgressReport, TimeBudget
from recommender.ml.loop import LoopState, run_training_loop
from recommender.models import StopReason, TrainingRun
from recommender.training.runs import (
    RunProgress,
    training_run_cancel,
    training_run_create,
    training_run_execute,
)
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db

LONG_FLOAT = re.compile(r"\d\.\d{5,}")


def test_a_run_keeps_each_epochs_figures_and_logs_each_line_once_rounded(shop_data):
    run = training_run_create(parameters={**TINY_MODEL, "activate": "never"})
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()

    assert run.status == TrainingRun.Status.SUCCEEDED and run.phase == "done"
    assert run.max_epochs == 3 and run.steps_per_epoch >= 1
    assert [e["epoch"] for e in run.history] == list(range(1, run.epoch + 1))
    assert all(e["loss"] > 0 and e["val_ndcg"] is not None for e in run.history)
    lines = [line.split(" ", 1)[1] for line in run.log_tail.splitlines()]
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == run.epoch == len(set(epoch_lines))
    assert (
        epoch_lines[0].startswith("epoch 1/3: loss ") and "validation NDCG@10 0." in epoch_lines[0]
    )
    assert not LONG_FLOAT.search(run.log_tail), run.log_tail
    assert run.stopped_by in (StopReason.MAX_EPOCHS, StopReason.EARLY_STOPPING)


def test_a_run_the_time_cap_stopped_while_validation_improved_says_so(shop_data):
    parameters = {**TINY_MODEL, "max_epochs": 20, "patience": 20, "max_train_seconds": 1e-6}
    run = training_run_create(parameters={**parameters, "activate": "never"})
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()

    assert run.stopped_by == StopReason.TIME_CAP and run.epoch == 1 and run.still_improving
    assert run.stopped_while_improving
    assert run.stop_note.startswith(
        "Stopped by the time cap (1e-06 s) at epoch 1 of 20 while validation NDCG@10 was"
        " still improving; a longer budget"
    )
    assert "stopped by the time cap at epoch 1 while validation NDCG@10 was still improving" in (
        run.log_tail
    )


class Weight:
    def __init__(self) -> None:
        self.value = np.zeros(1)

    def numpy(self):
        return self.value

    def assign(self, value) -> None:
        self.value = value


def _loop(scores: list[float], seconds: float, max_epochs: int) -> list[dict]:
    """The training loop with real callbacks on a stand-in model: each epoch one step,
    validation returns the next of ``scores``; the epoch reports it sends."""
    reports: list[dict] = []
    validations = iter(scores)
    early_stopping = EarlyStopping(
        lambda: {"val_ndcg@10": next(validations)}, [Weight()], every=1, patience=10
    )
    callbacks = [
        TimeBudget(seconds),
        early_stopping,
        History(),
        ProgressReport(reports.append, 1, early_stopping),
    ]
    batches = SimpleNamespace(epoch=lambda: [0], inputs=lambda rows: ())
    state = LoopState(max_epochs, 1)
    run_training_loop(lambda: 1.0, batches, callbacks, state)
    return [r for r in reports if r["stage"] == "epoch"]


def test_the_loop_reports_the_time_cap_and_whether_the_last_validation_improved():
    improving = _loop([0.1, 0.2], seconds=0, max_epochs=2)
    assert [r["stopped_by"] for r in improving] == ["", "max_epochs"]
    assert improving[-1]["improved"] is True and improving[-1]["epochs"] == 2

    capped = _loop([0.1], seconds=1e-9, max_epochs=5)
    assert capped[-1]["stopped_by"] == "time_cap" and capped[-1]["improved"] is True


def test_a_time_cap_after_the_best_epoch_is_not_called_improving():
    run = TrainingRun.objects.create(status="running", max_epochs=9, parameters={})
    progress = RunProgress(run)
    report = {"stage": "epoch", "epoch": 4, "epochs": 9, "step": 3, "steps": 3, "loss": 5.0}
    progress({**report, "val_ndcg@10": 0.2, "improved": False, "stopped_by": "time_cap"})
    run.refresh_from_db()

    assert run.stopped_by == StopReason.TIME_CAP and run.still_improving is False
    assert not run.stopped_while_improving
    assert run.stop_note == (
        "Stopped by the time cap at epoch 4 of 9; validation NDCG@10 had stopped improving."
    )
    assert run.history == [{"epoch": 4, "loss": 5.0, "val_ndcg": 0.2, "elapsed": None}]


def test_cancelling_a_run_whose_worker_stopped_reporting_ends_it_at_once():
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    run = TrainingRun.objects.create(status="running", started_at=long_ago, heartbeat_at=long_ago)

    training_run_cancel(run=run)

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and run.finished_at
