"""Celery tasks. They take primitive ids, load rows and call services; retries and time
limits live here. Training runs on the `training` queue (GPU workers listen there)."""

from __future__ import annotations

import logging

from celery import chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Max, Min

from recommender import pipeline, services, serving
from recommender.models import ModelVersion, RefreshRun, TrainingRun

logger = logging.getLogger(__name__)

TRAIN_SOFT_LIMIT = 3 * 60 * 60
REFRESH_DEBOUNCE_SECONDS = 0.3


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
        version = services.training_run_execute(run_id=run_id)
    except services.TrainingBusy as exc:
        raise self.retry(exc=exc, countdown=60) from exc
    except services.TrainingCancelled:
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
        services.model_version_activate(version=version)
    except serving.ArtifactError:
        logger.exception("Refused to activate model v%s", version_id)
        return False
    return True


@shared_task
def nightly_retrain() -> int:
    """Scheduled retrain; it activates only if it beats the active version."""
    run = services.training_run_create(parameters={"activate": "if_better"}, trigger="schedule")
    services.training_run_enqueue(run=run)
    return run.pk


@shared_task
def reap_stale_runs() -> int:
    return services.training_runs_reap_stale()


@shared_task
def learn_search_blend() -> int | None:
    """Scheduled learning to rank: fit the search blend on the click log (once enough
    clicked searches exist; until then the offline defaults keep serving)."""
    from recommender.search_blend import search_blend_learn_from_clicks

    blend = search_blend_learn_from_clicks()
    return blend.pk if blend else None


def user_id_ranges(chunk_users: int) -> list[tuple[int, int]]:
    """Contiguous user-id ranges of about ``chunk_users`` shoppers each."""
    User = get_user_model()
    bounds = User.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    ranges = []
    start = bounds["low"]
    while start <= bounds["high"]:
        ranges.append((start, start + chunk_users - 1))
        start += chunk_users
    return ranges


@shared_task
def refresh_recommendations(chunk_users: int = services.REFRESH_CHUNK_USERS) -> int | None:
    """Fan out over user-id ranges; each chunk writes its shoppers' top-K."""
    loaded = serving.active_model()
    if loaded is None:
        logger.info("No active model; nothing to refresh")
        return None
    ranges = user_id_ranges(chunk_users)
    refresh = RefreshRun.objects.create(model_version_id=loaded.version_id, chunks=len(ranges))
    header = [refresh_chunk.s(loaded.version_id, low, high) for low, high in ranges]
    if not header:
        services.refresh_run_finish(refresh_id=refresh.pk, users=0)
        return refresh.pk
    chord(header)(refresh_finished.s(refresh.pk))
    return refresh.pk


@shared_task(
    acks_late=True, max_retries=3, default_retry_delay=5, soft_time_limit=600, time_limit=660
)
def refresh_chunk(version_id: int, first_user_id: int, last_user_id: int) -> int:
    """Top-K of the shoppers with events whose ids are in [first, last]."""
    loaded = serving.active_model()
    if loaded is None or loaded.version_id != version_id:
        return 0  # a newer version was activated; its own refresh covers these users
    from shop.models import Event

    user_ids = list(
        Event.objects.filter(
            user_id__gte=first_user_id, user_id__lte=last_user_id, product__isnull=False
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    if not user_ids:
        return 0
    last_events: dict[int, int] = {}
    histories = pipeline.histories_for_users(
        user_ids, max_len=loaded.model.max_len, last_event_ids=last_events
    )
    ordered = [uid for uid in user_ids if histories[uid][0]]
    return _score_and_store(loaded, {uid: histories[uid] for uid in ordered}, last_events)


def _score_and_store(loaded, histories: dict, last_events: dict[int, int]) -> int:
    """Top-K, vector and latest products of each shopper, written to Postgres and Redis."""
    ordered = list(histories)
    rows = pipeline.score_histories(
        loaded.model,
        [histories[uid] for uid in ordered],
        k=services.TOP_K,
        exclude=pipeline.unavailable_product_ids(),
    )
    vectors, recent, purchased = pipeline.shopper_vectors(
        loaded.model, [histories[u] for u in ordered]
    )
    return services.user_recommendations_store(
        version_id=loaded.version_id,
        rows=dict(zip(ordered, rows, strict=True)),
        states={
            uid: (vectors[n].tobytes(), recent[n], purchased[n], last_events.get(uid))
            for n, uid in enumerate(ordered)
        },
    )


@shared_task
def refresh_finished(counts: list[int], refresh_id: int) -> int:
    services.refresh_run_finish(refresh_id=refresh_id, users=sum(counts))
    return refresh_id


@shared_task(acks_late=True, max_retries=2, default_retry_delay=1)
def refresh_user(user_id: int) -> int:
    """Re-score one shopper after a new event (debounced by the receiver)."""
    cache.delete(f"recommender:refresh-pending:{user_id}")
    loaded = serving.active_model()
    if loaded is None:
        return 0
    last_events: dict[int, int] = {}
    history = pipeline.histories_for_users(
        [user_id], max_len=loaded.model.max_len, last_event_ids=last_events
    )[user_id]
    if not history[0]:
        return 0
    return _score_and_store(loaded, {user_id: history}, last_events)
