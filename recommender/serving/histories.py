"""Shoppers' histories as the model reads them, from the shop's events."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Max, Q, Subquery

from recommender.models import TRAINING_EVENT_TYPES
from shop.models import Event, Product

# (product ids, timestamps, event types) of a shopper's latest events, oldest first.
History = tuple[list, list, list]


def histories_for_users(
    user_ids: Iterable[int], *, max_len: int, last_event_ids: dict[int, int] | None = None
) -> dict[int, History]:
    """Per user: (product ids, timestamps, event types) of the latest max_len events, oldest
    first. ``last_event_ids``, when given, receives each user's newest event id."""
    ids = list(user_ids)
    out: dict[int, History] = {uid: ([], [], []) for uid in ids}
    rows = (
        Event.objects.filter(
            user_id__in=ids, product__isnull=False, event_type__in=TRAINING_EVENT_TYPES
        )
        .order_by("user_id", "-occurred_at", "-pk")
        .values_list("user_id", "product_id", "occurred_at", "event_type", "pk")
    )
    for user_id, product_id, occurred_at, event_type, pk in rows.iterator(chunk_size=10_000):
        if last_event_ids is not None and pk > last_event_ids.get(user_id, 0):
            last_event_ids[user_id] = pk
        items, times, types = out[user_id]
        if len(items) < max_len:
            items.append(product_id)
            times.append(occurred_at.timestamp())
            types.append(event_type)
    for items, times, types in out.values():
        items.reverse()
        times.reverse()
        types.reverse()
    return out


def session_history(session_id: str, *, max_len: int) -> History:
    rows = list(
        Event.objects.filter(
            session_id=session_id,
            user__isnull=True,
            product__isnull=False,
            event_type__in=TRAINING_EVENT_TYPES,
        )
        .order_by("-occurred_at", "-pk")
        .values_list("product_id", "occurred_at", "event_type")[:max_len]
    )
    rows.reverse()
    return [r[0] for r in rows], [r[1].timestamp() for r in rows], [r[2] for r in rows]


def shopper_history(*, user_id: int | None, session_id: str, max_len: int) -> History:
    """The history of a logged-in user, else of an anonymous session."""
    if user_id is not None:
        return histories_for_users([user_id], max_len=max_len)[user_id]
    return session_history(session_id, max_len=max_len)


def unavailable_product_ids() -> set[int]:
    """Products never to recommend: inactive or out of stock."""
    return set(Product.objects.filter(Q(is_active=False) | Q(stock=0)).values_list("pk", flat=True))


def available_product_ids(product_ids: list[int]) -> set[int]:
    """Those of ``product_ids`` that may be shown: active and in stock."""
    return set(
        Product.objects.filter(pk__in=product_ids, is_active=True, stock__gt=0).values_list(
            "pk", flat=True
        )
    )


def latest_event_id(user_id: int) -> int | None:
    """The id of the shopper's newest event that a history includes."""
    return _history_events(user_id).aggregate(latest=Max("pk"))["latest"]


def latest_event_id_subquery(user_id) -> Subquery:
    """``latest_event_id`` as a subquery (``user_id`` may be an ``OuterRef``), so that
    a query of stored shopper rows reads it in the same round trip."""
    return Subquery(
        _history_events(user_id)
        .order_by()
        .values("user_id")
        .annotate(latest=Max("pk"))
        .values("latest")
    )


def _history_events(user_id):
    return Event.objects.filter(
        user_id=user_id, product__isnull=False, event_type__in=TRAINING_EVENT_TYPES
    )
