"""What the live pages of a training run and a refresh show, as plain JSON-able dicts:
the page embeds the first one and its script polls the same dict every second or two
(``training_run_state`` / ``refresh_run_state``). Each is one query by primary key (and
the run's version through its one-to-one)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from recommender.models import ModelVersion, RefreshRun, TrainingRun
from recommender.training.runs import STALE_AFTER
from shop.dashboards.charts import Chart, Series

# The live page polls this often (milliseconds; static/dashboards/training.js).
POLL_MILLISECONDS = 1500
ERROR_TAIL_CHARACTERS = 3000


def seconds_text(seconds: float | None) -> str:
    """1 h 02 min, 3 min 05 s, 12 s; "" without a figure."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def decimal_text(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def training_run_progress(run: TrainingRun) -> float | None:
    """The share of the run's epochs done (1 once it succeeded); None while no epoch
    count is known yet (exporting, tuning: the bar shows work without a figure)."""
    if run.status == TrainingRun.Status.SUCCEEDED:
        return 1.0
    if not run.max_epochs or not run.epoch:
        return None if run.status == TrainingRun.Status.RUNNING else 0.0
    within = run.step / run.steps_per_epoch if run.steps_per_epoch else 1.0
    done = (run.epoch - 1 + min(within, 1.0)) / run.max_epochs
    return round(min(max(done, 0.0), 1.0), 4)


def _version(version: ModelVersion | None) -> dict | None:
    if version is None:
        return None
    return {
        "id": version.pk,
        "url": reverse("admin:recommender_modelversion_change", args=[version.pk]),
        "holdout_ndcg": decimal_text(version.holdout_ndcg),
        "is_active": version.is_active,
    }


def training_run_state(run: TrainingRun, *, can_cancel: bool) -> dict:
    """Everything the run's live page shows."""
    history = run.history or []
    best = max((e["val_ndcg"] for e in history if e.get("val_ndcg") is not None), default=None)
    progress = training_run_progress(run)
    stale_note = _stale_note(run)
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": TrainingRun.Status(run.status).label,
        "is_finished": run.is_finished,
        "phase": run.phase or ("waiting for a worker" if run.status == "queued" else ""),
        "epoch": run.epoch,
        "max_epochs": run.max_epochs,
        "step": run.step,
        "steps_per_epoch": run.steps_per_epoch,
        "progress": progress,
        "progress_text": _progress_text(run, progress),
        "loss": decimal_text(run.loss),
        "validation_ndcg": decimal_text(run.validation_ndcg),
        "best_validation_ndcg": decimal_text(best),
        "history": history,
        "log": run.log_tail.splitlines(),
        "error": run.error[-ERROR_TAIL_CHARACTERS:],
        "elapsed": seconds_text(run.duration_seconds),
        "stale": bool(stale_note),
        "stale_note": stale_note,
        "stop_note": run.stop_note,
        "stop_warning": run.stopped_while_improving,
        "cancel_requested": run.cancel_requested,
        "can_cancel": can_cancel and not run.is_finished,
        "device": run.device,
        "model_version": _version(getattr(run, "model_version", None)),
    }


def _stale_note(run: TrainingRun) -> str:
    """What to say of a running run that stopped reporting ("" while it reports)."""
    if run.status != TrainingRun.Status.RUNNING or run.heartbeat_at is None:
        return ""
    silent = (timezone.now() - run.heartbeat_at).total_seconds()
    if silent <= STALE_AFTER.total_seconds():
        return ""
    return (
        f"No progress report for {seconds_text(silent)}: the process training it may have"
        " stopped (the reaper marks it failed; cancelling it ends it now)."
    )


def _progress_text(run: TrainingRun, progress: float | None) -> str:
    if not run.epoch:
        return ""
    epochs = f"epoch {run.epoch}" + (f" of at most {run.max_epochs}" if run.max_epochs else "")
    steps = (
        f", step {run.step} of {run.steps_per_epoch}"
        if run.steps_per_epoch and run.step < run.steps_per_epoch
        else ""
    )
    share = "" if progress is None else f" ({progress:.0%})"
    return f"{epochs}{steps}{share}"


def training_history_chart(run: TrainingRun) -> Chart:
    """Loss and validation NDCG@10 per epoch (the page's table and CSV; its script
    draws them on two axes and adds epochs as they come)."""
    history = run.history or []
    return Chart(
        key="history",
        title="Loss and validation NDCG@10 per epoch",
        labels=[str(e["epoch"]) for e in history],
        series=[
            Series("loss", [e.get("loss") for e in history]),
            Series("validation NDCG@10", [e.get("val_ndcg") for e in history]),
        ],
        y_format="decimal",
        x_title="epoch",
    )


def refresh_run_state(run: RefreshRun, *, can_cancel: bool) -> dict:
    """Everything a refresh's live page shows."""
    seconds = run.duration_seconds
    per_second = run.users_per_second
    if per_second is None and run.status == RefreshRun.Status.RUNNING and seconds > 0:
        per_second = run.users / seconds
    progress = None
    if run.chunks:
        progress = round(run.chunks_done / run.chunks, 4)
    elif run.status == RefreshRun.Status.SUCCEEDED:
        progress = 1.0
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": RefreshRun.Status(run.status).label,
        "is_finished": run.is_finished,
        "chunks": run.chunks,
        "chunks_done": run.chunks_done,
        "progress": progress,
        "progress_text": f"{run.chunks_done:,} of {run.chunks:,} chunks" if run.chunks else "",
        "users": f"{run.users:,}",
        "users_per_second": "n/a" if per_second is None else f"{per_second:,.0f}",
        "elapsed": seconds_text(seconds),
        "error": run.error[-ERROR_TAIL_CHARACTERS:],
        "can_cancel": can_cancel and not run.is_finished,
        "model_version": _version(run.model_version),
    }
