"""The refresh: every shopper's top-K, vector and latest products, scored with the active
model and written to Postgres and the cache (a chunk of user ids at a time, or one
shopper after a new event)."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import F, Max, Min
from django.utils import timezone

from recommender.models import ModelVersion, RefreshRun, UserRecommendation
from recommender.serving.histories import histories_for_users, unavailable_product_ids
from recommender.serving.model import LoadedModel, active_model
from recommender.serving.recommendations import recs_cache_key, score_histories
from recommender.serving.shoppers import shopper_state_forget, shopper_vectors
from shop.models import Event
from shop.signals import personalization_changed

logger = logging.getLogger(__name__)

TOP_K = 50
REFRESH_CHUNK_USERS = 2000
RECS_CACHE_SECONDS = 60 * 60 * 24

# What the refresh stores of a shopper besides the list: their vector (float32 bytes),
# latest and purchased products, and the newest event id it saw.
ShopperRow = tuple[bytes, list[int], list[int], int | None]
STATE_FIELDS = ("vector", "recent", "purchased", "last_event_id")
PENDING = (RefreshRun.Status.QUEUED, RefreshRun.Status.RUNNING)


def refresh_pending_key(user_id: int) -> str:
    """Set while a refresh of the shopper is queued (the receiver debounces with it)."""
    return f"recommender:refresh-pending:{user_id}"


def user_id_ranges(chunk_users: int) -> list[tuple[int, int]]:
    """Contiguous user-id ranges of about ``chunk_users`` shoppers each."""
    bounds = get_user_model().objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    ranges = []
    start = bounds["low"]
    while start <= bounds["high"]:
        ranges.append((start, start + chunk_users - 1))
        start += chunk_users
    return ranges


class RefreshRefused(Exception):
    """Staff cannot start a refresh now (no active model, or one is already going)."""


def refresh_run_queue(*, user=None) -> RefreshRun:
    """A queued refresh of every shopper with the active version, started by staff
    (the task picks it up: ``refresh_run_start(refresh_id=...)``); RefreshRefused when
    no version is active or a refresh is queued or running."""
    version_id = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    if version_id is None:
        raise RefreshRefused("No model version is active: train one first.")
    pending = RefreshRun.objects.filter(status__in=PENDING).first()
    if pending is not None:
        raise RefreshRefused(f"Refresh {pending.pk} is {pending.status}; cancel it or wait for it.")
    return RefreshRun.objects.create(
        model_version_id=version_id,
        requested_by=user if user is not None and user.is_authenticated else None,
    )


def refresh_run_start(
    *, chunk_users: int, refresh_id: int | None = None
) -> tuple[RefreshRun, list[tuple[int, int]]] | None:
    """A refresh of every shopper with the active model, as user-id ranges to score
    (none: the run is finished at once): the queued run ``refresh_id`` or a new one.
    None when no model is active (a queued run fails, saying so) or the queued run was
    cancelled meanwhile."""
    loaded = active_model()
    if loaded is None:
        logger.info("No active model; nothing to refresh")
        if refresh_id is not None:
            refresh_run_end(refresh_id=refresh_id, error="No model version is active.")
        return None
    ranges = user_id_ranges(chunk_users)
    fields = {
        "model_version_id": loaded.version_id,
        "chunks": len(ranges),
        "status": RefreshRun.Status.RUNNING,
        "started_at": timezone.now(),
    }
    if refresh_id is None:
        run = RefreshRun.objects.create(**fields)
    elif RefreshRun.objects.filter(pk=refresh_id, status=RefreshRun.Status.QUEUED).update(**fields):
        run = RefreshRun.objects.get(pk=refresh_id)
    else:
        return None  # cancelled before it started
    if not ranges:
        refresh_run_finish(refresh_id=run.pk, users=0)
    return run, ranges


def refresh_run_finish(*, refresh_id: int, users: int) -> RefreshRun:
    """Every chunk is done: succeeded (or still cancelled, with the shoppers it did)."""
    refresh = RefreshRun.objects.get(pk=refresh_id)
    refresh.finished_at = refresh.finished_at or timezone.now()
    refresh.users = users
    seconds = max((refresh.finished_at - refresh.started_at).total_seconds(), 1e-6)
    refresh.users_per_second = users / seconds
    if refresh.status == RefreshRun.Status.RUNNING:
        refresh.status = RefreshRun.Status.SUCCEEDED
    refresh.save(update_fields=["finished_at", "users", "users_per_second", "status"])
    logger.info(
        "Refreshed %s users in %.1f s (%.0f users/s)", users, seconds, refresh.users_per_second
    )
    return refresh


def refresh_run_end(*, refresh_id: int, error: str = "") -> None:
    """A queued or running refresh ends: failed with ``error``, else cancelled (the
    chunks not yet started skip their shoppers; those running finish)."""
    status = RefreshRun.Status.FAILED if error else RefreshRun.Status.CANCELLED
    RefreshRun.objects.filter(pk=refresh_id, status__in=PENDING).update(
        status=status, finished_at=timezone.now(), error=error[-5000:]
    )


def user_recommendations_refresh_range(
    *, version_id: int, first_user_id: int, last_user_id: int, refresh_id: int | None = None
) -> int:
    """Top-K of the shoppers with events whose ids are in [first, last]; 0 when
    ``version_id`` is no longer the active one (its successor's refresh covers them)
    or the refresh ``refresh_id`` was cancelled. Counts the chunk in its refresh."""
    loaded = active_model()
    if loaded is None or loaded.version_id != version_id:
        return 0
    if (
        refresh_id is not None
        and not RefreshRun.objects.filter(pk=refresh_id, status=RefreshRun.Status.RUNNING).exists()
    ):
        return 0
    user_ids = list(
        Event.objects.filter(
            user_id__gte=first_user_id, user_id__lte=last_user_id, product__isnull=False
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    done = _refresh_users(loaded, user_ids) if user_ids else 0
    if refresh_id is not None:
        RefreshRun.objects.filter(pk=refresh_id).update(
            chunks_done=F("chunks_done") + 1, users=F("users") + done
        )
    return done


def user_recommendations_refresh_one(*, user_id: int) -> int:
    """Re-score one shopper with the active model (after a new event)."""
    cache.delete(refresh_pending_key(user_id))
    loaded = active_model()
    return 0 if loaded is None else _refresh_users(loaded, [user_id])


def _refresh_users(loaded: LoadedModel, user_ids: list[int]) -> int:
    """Top-K, vector and latest products of each shopper with a history, stored."""
    last_events: dict[int, int] = {}
    histories = histories_for_users(
        user_ids, max_len=loaded.model.max_len, last_event_ids=last_events
    )
    ordered = [uid for uid in user_ids if histories[uid][0]]
    if not ordered:
        return 0
    scored = [histories[uid] for uid in ordered]
    rows = score_histories(loaded.model, scored, k=TOP_K, exclude=unavailable_product_ids())
    vectors, recent, purchased = shopper_vectors(loaded.model, scored)
    return user_recommendations_store(
        version_id=loaded.version_id,
        rows=dict(zip(ordered, rows, strict=True)),
        states={
            uid: (vectors[n].tobytes(), recent[n], purchased[n], last_events.get(uid))
            for n, uid in enumerate(ordered)
        },
    )


def user_recommendations_store(
    *,
    version_id: int,
    rows: dict[int, list[list]],
    states: dict[int, ShopperRow] | None = None,
) -> int:
    """Write top-K lists (user id -> [[product, score, reason], ...]) to Postgres and the
    cache, with each shopper's vector, latest and purchased products and newest event id
    seen (``states``)."""
    if not rows:
        return 0
    _store_rows(version_id, rows, states or {})
    shopper_state_forget(user_ids=list(rows))  # the next search reads the new row
    cache.set_many(
        {
            recs_cache_key(uid): {"version": version_id, "items": items}
            for uid, items in rows.items()
        },
        RECS_CACHE_SECONDS,
    )
    # The shop's kept recommendation pages of these shoppers are out of date.
    personalization_changed.send(sender=UserRecommendation, user_ids=list(rows))
    return len(rows)


def _store_rows(version_id: int, rows: dict[int, list[list]], states: dict[int, ShopperRow]):
    now = timezone.now()
    UserRecommendation.objects.bulk_create(
        [_row(version_id, uid, items, states.get(uid), now) for uid, items in rows.items()],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["model_version", "items", *STATE_FIELDS, "computed_at"],
        batch_size=1000,
    )


def _row(version_id, user_id, items, state: ShopperRow | None, now) -> UserRecommendation:
    stored = dict(zip(STATE_FIELDS, state or (None, [], [], None), strict=True))
    return UserRecommendation(
        user_id=user_id, model_version_id=version_id, items=items, computed_at=now, **stored
    )
