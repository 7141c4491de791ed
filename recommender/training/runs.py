"""Training runs: queued -> running (one at a time) -> succeeded, failed or cancelled.

A run heartbeats while it trains; a running run whose worker stopped reporting is reaped
as failed. Staff cancel a queued run (its task is revoked) or a running one (it stops at
its next progress report). A failure leaves the active model version as it was.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from recommender.models import ModelVersion, TrainingRun
from recommender.training.versions import model_version_activate_if_better, model_version_register

logger = logging.getLogger(__name__)

# A running run whose worker has not reported for this long is taken as dead.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY_SECONDS = 2.0
LOG_TAIL_LINES = 40


class TrainingBusy(Exception):
    """Another training run is running."""


class TrainingCancelled(Exception):
    pass


def training_run_create(
    *, parameters: dict | None = None, user=None, trigger: str = "manual"
) -> TrainingRun:
    return TrainingRun.objects.create(
        parameters=parameters or {},
        requested_by=user if user and user.is_authenticated else None,
        trigger=trigger,
    )


def training_runs_reap_stale(*, now=None) -> int:
    """Mark runs whose worker died (no heartbeat for STALE_AFTER) as failed."""
    now = now or timezone.now()
    stale = TrainingRun.objects.filter(
        status=TrainingRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    count = 0
    for run in stale:
        _finish(
            run,
            TrainingRun.Status.FAILED,
            error=f"The worker stopped reporting at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (killed or crashed); the active model is unchanged.",
        )
        count += 1
    return count


def training_run_cancel(*, run: TrainingRun) -> None:
    if run.status == TrainingRun.Status.QUEUED:
        _finish(run, TrainingRun.Status.CANCELLED, error="Cancelled before it started.")
        if run.celery_task_id:
            current_app.control.revoke(run.celery_task_id)
    elif run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)


def training_run_execute(
    *, run_id: int, on_report: Callable[[dict], None] | None = None
) -> ModelVersion | None:
    """Train, evaluate and register a model version for a queued run.

    Raises TrainingBusy when another run is running (the task retries later). Every
    other failure ends the run failed with the error, and leaves the active version as
    it was.
    """
    run = _claim(run_id)
    progress = RunProgress(run, on_report)
    try:
        return _train_and_register(run, progress)
    except TrainingCancelled as exc:
        _finish(run, TrainingRun.Status.CANCELLED, error=str(exc))
        return None
    except Exception as exc:
        logger.exception("Training run %s failed", run.pk)
        _finish(
            run, TrainingRun.Status.FAILED, error="".join(traceback.format_exception(exc))[-5000:]
        )
        raise


def _train_and_register(run: TrainingRun, progress: RunProgress) -> ModelVersion:
    # Here, not at the top: TensorFlow loads when a run trains, not with every process
    # that sets Django up (this module is reached from the app's receivers and admin).
    from recommender.training.pipeline import train_from_database

    result = train_from_database(parameters=run.parameters, progress=progress, log=progress.log)
    if progress.cancelled:
        raise TrainingCancelled("cancelled by staff")
    version = model_version_register(run=run, result=result)
    progress.log(f"registered model v{version.pk}: holdout NDCG@10 {version.holdout_ndcg:.4f}")
    activate = run.parameters.get("activate", "if_better")
    if activate != "never":
        activated = model_version_activate_if_better(version=version, force=activate == "always")
        progress.log(
            f"model v{version.pk} {'activated' if activated else 'not activated (the active version is as good or better)'}"
        )
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        device=result.device,
        timings=result.timings,
        heartbeat_at=timezone.now(),
    )
    return version


def _claim(run_id: int) -> TrainingRun:
    """queued -> running, guarded by the one-running-run constraint."""
    training_runs_reap_stale()
    now = timezone.now()
    try:
        with transaction.atomic():
            updated = TrainingRun.objects.filter(
                pk=run_id, status=TrainingRun.Status.QUEUED
            ).update(status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    except IntegrityError:
        other = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).first()
        raise TrainingBusy(f"training run {other.pk if other else '?'} is running") from None
    run = TrainingRun.objects.get(pk=run_id)
    if not updated:
        raise TrainingCancelled(f"run {run_id} is {run.status}, not queued")
    return run


def _finish(run: TrainingRun, status: str, *, error: str = "") -> None:
    TrainingRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now(), error=error[-5000:]
    )


class RunProgress:
    """The progress callback fit() calls: saves progress, heartbeats, checks cancellation."""

    def __init__(self, run: TrainingRun, on_report: Callable[[dict], None] | None = None) -> None:
        self.run = run
        self.on_report = on_report
        self.lines: list[str] = []
        self.saved_at = 0.0
        self.cancelled = False

    def log(self, line: str) -> None:
        logger.info("run %s: %s", self.run.pk, line)
        self._append(line)
        self.save(force=True)

    def _append(self, line: str) -> None:
        self.lines = (self.lines + [f"{timezone.now():%H:%M:%S} {line}"])[-LOG_TAIL_LINES:]

    def save(self, *, force: bool = False, **fields) -> bool:
        """Write progress and a heartbeat (at most every PROGRESS_EVERY_SECONDS unless
        forced); False once staff asked to cancel."""
        now = time.monotonic()
        if not force and now - self.saved_at < PROGRESS_EVERY_SECONDS:
            return True
        self.saved_at = now
        TrainingRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(), log_tail="\n".join(self.lines), **fields
        )
        return not TrainingRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists()

    def __call__(self, report: dict) -> bool:
        if report.get("stage") == "epoch":
            self._append(
                f"epoch {report.get('epoch')}: loss {report.get('loss', 0):.4f} val NDCG@10 {report.get('val_ndcg@10')}"
            )
        if self.on_report is not None:
            self.on_report(report)
        keep_going = self.save(force=report.get("stage") == "epoch", **_run_fields(report))
        if not keep_going:
            self.cancelled = True
        return keep_going


def _run_fields(report: dict) -> dict:
    """The TrainingRun fields a progress report updates."""
    fields = {}
    if "epoch" in report:
        fields["epoch"] = int(report["epoch"])
    if "step" in report:
        fields["step"] = int(report["step"])
    if report.get("loss") is not None:
        fields["loss"] = float(report["loss"])
    if report.get("val_ndcg@10") is not None:
        fields["validation_ndcg"] = float(report["val_ndcg@10"])
    return fields
