"""Celery tasks. They take primitive ids and call services; retries and time limits live
here. Training runs on the `training` queue (GPU workers listen there)."""

from __future__ import annotations

import logging

from celery import chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from recommender.models import ModelVersion, TrainingRun
from recommender.serving import refresh
from recommender.serving.model import ArtifactError
from recommender.training import runs
from recommender.training.versions import model_version_activate

logger = logging.getLogger(__name__)

TRAIN_SOFT_LIMIT = 3 * 60 * 60
REFRESH_DEBOUNCE_SECONDS = 0.3


def training_run_enqueue(*, run: TrainingRun) -> None:
    """Queue the run's training task once the transaction that created it commits."""

    def send() -> None:
        result = train.apply_async(args=[run.pk], queue="training")
        TrainingRun.objects.filter(pk=run.pk).exclude(celery_task_id=result.id).update(
            celery_task_id=result.id or ""
        )

    transaction.on_commit(send, robust=True)  # a failing eager run must not break the page


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=False,  # a run whose worker died is reaped, not re-run blindly
    soft_time_limit=TRAIN_SOFT_LIMIT,
    time_limit=TRAIN_SOFT_LIMIT + 300,
    max_retries=30,
)
def train(self, run_id: int) -> int | None:
    """Train a queued run. While another run trains, wait (retry every minute)."""
    try:
        version = runs.training_run_execute(run_id=run_id)
    except runs.TrainingBusy as exc:
        raise self.retry(exc=exc, countdown=60) from exc
    except runs.TrainingCancelled:
        return None
    except SoftTimeLimitExceeded:
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.FAILED, error=f"Time limit of {TRAIN_SOFT_LIMIT} s exceeded."
        )
        return None
    return version.pk if version else None


@shared_task(acks_late=True, max_retries=3, default_retry_delay=10)
def activate(version_id: int) -> bool:
    version = ModelVersion.objects.get(pk=version_id)
    try:
        model_version_activate(version=version)
    except ArtifactError:
        logger.exception("Refused to activate model v%s", version_id)
        return False
    return True


@shared_task
def nightly_retrain() -> int:
    """Scheduled retrain; it activates only if it beats the active version."""
    run = runs.training_run_create(parameters={"activate": "if_better"}, trigger="schedule")
    training_run_enqueue(run=run)
    return run.pk


@shared_task
def reap_stale_runs() -> int:
    return runs.training_runs_reap_stale()


@shared_task
def learn_search_blend() -> int | None:
    """Scheduled learning to rank: fit the search blend on the click log (once enough
    clicked searches exist; until then the offline defaults keep serving)."""
    # Here, not at the top: recommender.ml.ranking's package loads TensorFlow, which
    # the processes that set Django up (and import these tasks) should not pay for.
    from recommender.search_blend import search_blend_learn_from_clicks

    blend = search_blend_learn_from_clicks()
    return blend.pk if blend else None


@shared_task
def refresh_recommendations(chunk_users: int = refresh.REFRESH_CHUNK_USERS) -> int | None:
    """Fan out over user-id ranges; each chunk writes its shoppers' top-K."""
    started = refresh.refresh_run_start(chunk_users=chunk_users)
    if started is None:
        return None
    run, ranges = started
    if ranges:
        header = [refresh_chunk.s(run.model_version_id, low, high) for low, high in ranges]
        chord(header)(refresh_finished.s(run.pk))
    return run.pk


@shared_task(
    acks_late=True, max_retries=3, default_retry_delay=5, soft_time_limit=600, time_limit=660
)
def refresh_chunk(version_id: int, first_user_id: int, last_user_id: int) -> int:
    """Top-K of the shoppers with events whose ids are in [first, last]."""
    return refresh.user_recommendations_refresh_range(
        version_id=version_id, first_user_id=first_user_id, last_user_id=last_user_id
    )


@shared_task
def refresh_finished(counts: list[int], refresh_id: int) -> int:
    refresh.refresh_run_finish(refresh_id=refresh_id, users=sum(counts))
    return refresh_id


@shared_task(acks_late=True, max_retries=2, default_retry_delay=1)
def refresh_user(user_id: int) -> int:
    """Re-score one shopper after a new event (debounced by the receiver)."""
    return refresh.user_recommendations_refresh_one(user_id=user_id)
