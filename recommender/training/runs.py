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

from recommender.models import ModelVersion, StopReason, TrainingRun
from recommender.training.parameters import MODEL_PARAMETER_DEFAULTS
from recommender.training.versions import model_version_activate_if_better, model_version_register

logger = logging.getLogger(__name__)

# A running run whose worker has not reported for this long is taken as dead.
STALE_AFTER = timedelta(minutes=10)
# The live page polls every second or two; a step report is saved at most this often.
PROGRESS_EVERY_SECONDS = 1.0
LOG_TAIL_LINES = 40


class TrainingBusy(Exception):
    """Another training run is running."""


class TrainingCancelled(Exception):
    pass


class TrainingPending(Exception):
    """A run is already queued or running (staff cancel it or wait for it)."""

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        super().__init__(f"Training run {run.pk} is {run.status}; cancel it or wait for it.")


def training_run_create(
    *, parameters: dict | None = None, user=None, trigger: str = "manual"
) -> TrainingRun:
    parameters = parameters or {}
    return TrainingRun.objects.create(
        parameters=parameters,
        requested_by=user if user and user.is_authenticated else None,
        trigger=trigger,
        max_epochs=parameters.get("max_epochs", MODEL_PARAMETER_DEFAULTS["max_epochs"]),
    )


def training_run_create_unless_pending(
    *, parameters: dict, user=None, trigger: str = "manual"
) -> TrainingRun:
    """A queued run, unless one is queued or running (TrainingPending names it). Call it
    inside the transaction that enqueues the run."""
    with transaction.atomic():
        pending = (
            TrainingRun.objects.select_for_update()
            .filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING])
            .first()
        )
        if pending is not None:
            raise TrainingPending(pending)
        return training_run_create(parameters=parameters, user=user, trigger=trigger)


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
        if run.heartbeat_at and run.heartbeat_at < timezone.now() - STALE_AFTER:
            # Its worker is gone (no heartbeat): nobody would see the request.
            _finish(
                run,
                TrainingRun.Status.CANCELLED,
                error="Cancelled after its worker stopped reporting.",
            )


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
    progress.phase("registering")
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
        phase="done",
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
    """The progress callback fit() calls: saves progress and each epoch's figures,
    heartbeats, checks cancellation, and says why training stopped."""

    def __init__(self, run: TrainingRun, on_report: Callable[[dict], None] | None = None) -> None:
        self.run = run
        self.on_report = on_report
        self.lines: list[str] = []
        self.history: list[dict] = []
        self.saved_at = 0.0
        self.cancelled = False

    def log(self, line: str) -> None:
        logger.info("run %s: %s", self.run.pk, line)
        self._append(line)
        self.save(force=True)

    def phase(self, name: str) -> None:
        """The stage the run is in (exporting, training, evaluating...), shown live."""
        self.save(force=True, phase=name)

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
        if report.get("stage") == "phase":
            self.phase(report["phase"])
            return True
        fields = _run_fields(report)
        if report.get("stage") == "epoch":
            fields.update(self._epoch_ended(report))
        if self.on_report is not None:
            self.on_report(report)
        keep_going = self.save(force=report.get("stage") == "epoch", **fields)
        if not keep_going and not self.cancelled:
            self.cancelled = True
            self._append(f"cancelled by staff at epoch {report.get('epoch')}")
            self.save(force=True, stopped_by=StopReason.CANCELLED, still_improving=None)
        return keep_going

    def _epoch_ended(self, report: dict) -> dict:
        """The epoch's line in the log and its entry in the history; when it was the
        last, why training stopped."""
        entry = _history_entry(report)
        self.history.append(entry)
        self._append(_epoch_line(entry, report.get("epochs")))
        fields: dict = {"history": self.history}
        stopped_by = report.get("stopped_by")
        if stopped_by:
            fields.update(stopped_by=stopped_by, still_improving=bool(report.get("improved")))
            self._append(_stop_line(stopped_by, entry, report))
        return fields


def _rounded(value, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def _history_entry(report: dict) -> dict:
    return {
        "epoch": int(report["epoch"]),
        "loss": _rounded(report.get("loss")),
        "val_ndcg": _rounded(report.get("val_ndcg@10")),
        "elapsed": _rounded(report.get("elapsed"), 1),
    }


def _epoch_line(entry: dict, epochs: int | None) -> str:
    of = f"/{epochs}" if epochs else ""
    loss = "n/a" if entry["loss"] is None else f"{entry['loss']:.4f}"
    validation = (
        "not validated"
        if entry["val_ndcg"] is None
        else f"validation NDCG@10 {entry['val_ndcg']:.4f}"
    )
    elapsed = "" if entry["elapsed"] is None else f" ({entry['elapsed']:.0f} s)"
    return f"epoch {entry['epoch']}{of}: loss {loss}, {validation}{elapsed}"


def _stop_line(stopped_by: str, entry: dict, report: dict) -> str:
    best = report.get("best_val_ndcg@10")
    best_text = "" if best is None or best < 0 else f" (best {best:.4f})"
    if stopped_by == StopReason.TIME_CAP and report.get("improved"):
        return (
            f"stopped by the time cap at epoch {entry['epoch']} while validation NDCG@10 was"
            f" still improving{best_text}; a longer budget (max_train_seconds) may help"
        )
    return (
        f"training stopped at epoch {entry['epoch']} by {StopReason(stopped_by).label}{best_text}"
    )


def _run_fields(report: dict) -> dict:
    """The TrainingRun fields a progress report updates."""
    fields: dict = {"phase": "training the transformer"}
    if "epoch" in report:
        fields["epoch"] = int(report["epoch"])
    if "step" in report:
        fields["step"] = int(report["step"])
    if report.get("steps"):
        fields["steps_per_epoch"] = int(report["steps"])
    if report.get("epochs"):
        fields["max_epochs"] = int(report["epochs"])
    if report.get("loss") is not None:
        fields["loss"] = float(report["loss"])
    if report.get("val_ndcg@10") is not None:
        fields["validation_ndcg"] = float(report["val_ndcg@10"])
    return fields
