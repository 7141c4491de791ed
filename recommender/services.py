"""Write-side operations of the recommender: training runs, activation, cached top-K."""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from recommender import serving
from recommender.models import ModelVersion, RefreshRun, TrainingRun, UserRecommendation

logger = logging.getLogger(__name__)

# A running run whose worker has not reported for this long is taken as dead.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_EVERY_SECONDS = 2.0
LOG_TAIL_LINES = 40
TOP_K = 50
REFRESH_CHUNK_USERS = 2000
RECS_CACHE_SECONDS = 60 * 60 * 24
# A retrain replaces the active version only when its holdout NDCG@10 is at least this
# much better (relative), so noise does not flip versions back and forth.
MIN_IMPROVEMENT = 0.0


class TrainingBusy(Exception):
    """Another training run is running."""


class TrainingCancelled(Exception):
    pass


def recs_cache_key(user_id: int) -> str:
    return f"recommender:recs:{user_id}"


# ------------------------------------------------------------------ training runs


def training_run_create(
    *, parameters: dict | None = None, user=None, trigger: str = "manual"
) -> TrainingRun:
    return TrainingRun.objects.create(
        parameters=parameters or {},
        requested_by=user if user and user.is_authenticated else None,
        trigger=trigger,
    )


def training_run_enqueue(*, run: TrainingRun) -> None:
    """Queue the run's Celery task once the transaction that created it commits."""
    from recommender.tasks import train

    def send() -> None:
        result = train.apply_async(args=[run.pk], queue="training")
        TrainingRun.objects.filter(pk=run.pk).exclude(celery_task_id=result.id).update(
            celery_task_id=result.id or ""
        )

    transaction.on_commit(send, robust=True)  # a failing eager run must not break the page


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
            from config.celery import app

            app.control.revoke(run.celery_task_id)
    elif run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)


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


class _Progress:
    """The progress callback fit() calls: saves progress, heartbeats, checks cancellation."""

    def __init__(self, run: TrainingRun, on_report: Callable[[dict], None] | None = None) -> None:
        self.run = run
        self.on_report = on_report
        self.lines: list[str] = []
        self.saved_at = 0.0
        self.cancelled = False

    def log(self, line: str) -> None:
        logger.info("run %s: %s", self.run.pk, line)
        self.lines = (self.lines + [f"{timezone.now():%H:%M:%S} {line}"])[-LOG_TAIL_LINES:]
        self.save(force=True)

    def save(self, *, force: bool = False, **fields) -> bool:
        now = time.monotonic()
        if not force and now - self.saved_at < PROGRESS_EVERY_SECONDS:
            return True
        self.saved_at = now
        TrainingRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(), log_tail="\n".join(self.lines), **fields
        )
        return not TrainingRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists()

    def __call__(self, report: dict) -> bool:
        fields = {}
        if "epoch" in report:
            fields["epoch"] = int(report["epoch"])
        if "step" in report:
            fields["step"] = int(report["step"])
        if report.get("loss") is not None:
            fields["loss"] = float(report["loss"])
        if report.get("val_ndcg@10") is not None:
            fields["validation_ndcg"] = float(report["val_ndcg@10"])
        if report.get("stage") == "epoch":
            self.lines = (
                self.lines
                + [
                    f"{timezone.now():%H:%M:%S} epoch {report.get('epoch')}: loss {report.get('loss', 0):.4f} val NDCG@10 {report.get('val_ndcg@10')}"
                ]
            )[-LOG_TAIL_LINES:]
        if self.on_report is not None:
            self.on_report(report)
        keep_going = self.save(force=report.get("stage") == "epoch", **fields)
        if not keep_going:
            self.cancelled = True
        return keep_going


def training_run_execute(
    *, run_id: int, on_report: Callable[[dict], None] | None = None
) -> ModelVersion | None:
    """Train, evaluate and register a model version for a queued run.

    Raises TrainingBusy when another run is running (the task retries later). Every
    other failure ends the run failed with the error, and leaves the active version as
    it was.
    """
    from recommender import pipeline

    run = _claim(run_id)
    progress = _Progress(run, on_report)
    timings: dict[str, float] = {}
    try:
        result = pipeline.train_from_database(
            parameters=run.parameters, progress=progress, log=progress.log, timings=timings
        )
        if progress.cancelled:
            raise TrainingCancelled("cancelled by staff")
        version_dir = Path(settings.MODEL_ROOT) / f"run-{run.pk}-{timezone.now():%Y%m%d%H%M%S}"
        result.model.save(version_dir)
        version = ModelVersion.objects.create(
            run=run,
            artifact_path=str(version_dir),
            config=result.config,
            metrics=result.metrics,
            holdout_ndcg=result.metrics["model"]["ndcg@10"],
            event_count=result.event_count,
            user_count=result.user_count,
            item_count=result.item_count,
            data_cutoff=result.cutoff,
            device=result.device,
            created_by=run.requested_by,
        )
        progress.log(f"registered model v{version.pk}: holdout NDCG@10 {version.holdout_ndcg:.4f}")
        if run.parameters.get("activate", "if_better") != "never":
            activated = model_version_activate_if_better(
                version=version, force=run.parameters.get("activate") == "always"
            )
            progress.log(
                f"model v{version.pk} {'activated' if activated else 'not activated (the active version is as good or better)'}"
            )
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            device=result.device,
            timings=timings,
            heartbeat_at=timezone.now(),
        )
    except TrainingCancelled as exc:
        _finish(run, TrainingRun.Status.CANCELLED, error=str(exc))
        return None
    except Exception as exc:
        logger.exception("Training run %s failed", run.pk)
        _finish(
            run, TrainingRun.Status.FAILED, error="".join(traceback.format_exception(exc))[-5000:]
        )
        raise
    return version


# ---------------------------------------------------------------- model versions


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one served, atomically; refuses a broken artifact.

    Raises serving.ArtifactError (and records the reason on the version) when the
    artifact is missing or does not load: the previous version stays active.
    """
    try:
        serving.load_artifact(version.artifact_path)
    except serving.ArtifactError as exc:
        ModelVersion.objects.filter(pk=version.pk).update(refused_reason=str(exc))
        raise
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            is_active=True, activated_at=timezone.now(), refused_reason=""
        )
    transaction.on_commit(lambda: serving.announce_active(version.pk))
    version.refresh_from_db()
    from recommender.tasks import refresh_recommendations

    transaction.on_commit(lambda: refresh_recommendations.delay(), robust=True)
    return version


def model_version_activate_if_better(*, version: ModelVersion, force: bool = False) -> bool:
    """Activate a new version if it beats the active one on the holdout (or none is active)."""
    active = ModelVersion.objects.filter(is_active=True).first()
    better = active is None or (
        version.holdout_ndcg is not None
        and (
            active.holdout_ndcg is None
            or version.holdout_ndcg > active.holdout_ndcg * (1 + MIN_IMPROVEMENT)
        )
    )
    if not (better or force):
        logger.info(
            "Model v%s (%.4f) does not beat the active v%s (%.4f); not activated",
            version.pk,
            version.holdout_ndcg or 0,
            active.pk,
            active.holdout_ndcg or 0,
        )
        return False
    try:
        model_version_activate(version=version)
    except serving.ArtifactError:
        logger.exception("Model v%s refused", version.pk)
        return False
    return True


def model_version_rollback() -> ModelVersion | None:
    """Activate the most recent version before the active one."""
    active = ModelVersion.objects.filter(is_active=True).first()
    previous = (
        ModelVersion.objects.exclude(pk=getattr(active, "pk", None))
        .filter(created_at__lte=active.created_at if active else timezone.now())
        .order_by("-created_at")
        .first()
    )
    if previous is None:
        return None
    return model_version_activate(version=previous)


def model_version_delete_artifact(*, version: ModelVersion) -> None:
    shutil.rmtree(version.artifact_path, ignore_errors=True)


# --------------------------------------------------------------- cached top-K


def user_recommendations_store(
    *,
    version_id: int,
    rows: dict[int, list[list]],
    states: dict[int, tuple[bytes, list[int], list[int], int | None]] | None = None,
) -> int:
    """Write top-K lists (user id -> [[product, score, reason], ...]) to Postgres and Redis,
    with each shopper's vector, latest and purchased products and newest event id seen
    (``states``)."""
    if not rows:
        return 0
    now = timezone.now()
    states = states or {}
    UserRecommendation.objects.bulk_create(
        [
            UserRecommendation(
                user_id=uid,
                model_version_id=version_id,
                items=items,
                vector=states[uid][0] if uid in states else None,
                recent=states[uid][1] if uid in states else [],
                purchased=states[uid][2] if uid in states else [],
                last_event_id=states[uid][3] if uid in states else None,
                computed_at=now,
            )
            for uid, items in rows.items()
        ],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=[
            "model_version",
            "items",
            "vector",
            "recent",
            "purchased",
            "last_event_id",
            "computed_at",
        ],
        batch_size=1000,
    )
    from recommender.selectors import shopper_state_forget

    shopper_state_forget(user_ids=list(rows))  # the next search reads the new row
    cache.set_many(
        {
            recs_cache_key(uid): {"version": version_id, "items": items}
            for uid, items in rows.items()
        },
        RECS_CACHE_SECONDS,
    )
    return len(rows)


def refresh_run_finish(*, refresh_id: int, users: int) -> RefreshRun:
    refresh = RefreshRun.objects.get(pk=refresh_id)
    refresh.finished_at = timezone.now()
    refresh.users = users
    seconds = max((refresh.finished_at - refresh.started_at).total_seconds(), 1e-6)
    refresh.users_per_second = users / seconds
    refresh.save(update_fields=["finished_at", "users", "users_per_second"])
    logger.info(
        "Refreshed %s users in %.1f s (%.0f users/s)", users, seconds, refresh.users_per_second
    )
    return refresh
