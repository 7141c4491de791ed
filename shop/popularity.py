"""Product popularity that one visitor cannot move: distinct shoppers, time-decayed.

Two figures per product, recomputed from the event log (``popularity_refresh``, by the
Celery task every 10 minutes, after each file import, and by ``manage.py popularity``):

- ``Product.popularity``: the ranking feature, the "Most popular" sort and tie-breaks.
  Each distinct shopper (a user, else an anonymous session) counts once per product,
  with the weight of their strongest interaction (shop.selectors.EVENT_WEIGHTS: a view
  1, a purchase 5), halved every ``POPULARITY_HALF_LIFE_DAYS`` of age, over the
  ``POPULARITY_WINDOW_DAYS`` before the newest event's day. A bot or a shopper viewing
  one product a hundred times adds what one view adds.
- ``Product.trending``: the same over the last ``TRENDING_WINDOW_DAYS`` with a
  ``TRENDING_HALF_LIFE_DAYS`` half-life, and 0 unless at least
  ``settings.SHOP_TRENDING_MIN_SHOPPERS`` distinct shoppers interacted in that window:
  "Popular right now" lists only products with a non-zero figure.

Ages are measured from the end of the newest event's day, not from now: a shop whose
data stops (or a demo on historical data) keeps its figures, and within a day the old
events' contributions do not change. So a refresh recomputes only the products of
events newer than its watermark; when the newest day moves on (or with ``full``) every
product is recomputed. Rows are written only where a figure changed.

Plans (Postgres 15): the window is bounded by ``event_time_idx`` (occurred_at, id); an
incremental refresh reads its products' events with ``event_product_type_idx``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import NotSupportedError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from shop.models import Event, Product, RollupState
from shop.selectors import EVENT_WEIGHTS

logger = logging.getLogger(__name__)

POPULARITY_HALF_LIFE_DAYS = 30
POPULARITY_WINDOW_DAYS = 180
TRENDING_HALF_LIFE_DAYS = 3
TRENDING_WINDOW_DAYS = 14
STATE = "popularity"
# Each incremental refresh also re-reads this many event ids below its watermark.
ID_MARGIN = 20_000
# The Postgres advisory lock key of the refresh (any constant unique to this use).
ADVISORY_LOCK = 7_150_042
# Products recomputed per query in an incremental refresh, and rows per UPDATE.
PRODUCT_CHUNK = 2000
WRITE_BATCH = 1000
# Figures are stored rounded: a change below this is not written.
DECIMALS = 4

# Seconds since 1970 of an event's time, per database, as a double: Postgres' EXTRACT
# gives a numeric, and numeric POWER made the whole-log aggregate 3x slower.
_EPOCH = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM e.occurred_at) AS DOUBLE PRECISION)",
    "sqlite": "(julianday(e.occurred_at) - 2440587.5) * 86400.0",
}
_DOUBLE = "CAST(%s AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class ProductFigures:
    popularity: float
    trending: float


def popularity_refresh(*, full: bool = False) -> dict:
    """Bring ``popularity`` and ``trending`` up to date with the event log; returns what
    it did, or ``{"skipped": True}`` while another refresh runs.

    The aggregate only reads; the figures are then written in product-id order, in
    short transactions of WRITE_BATCH rows, so a checkout (which locks its products in
    id order) waits for one batch at most and never deadlocks with it."""
    started = time.monotonic()
    with _one_at_a_time() as alone:
        if not alone:
            logger.info("popularity refresh skipped: another one is running")
            return {"skipped": True}
        state, _ = RollupState.objects.get_or_create(name=STATE)
        newest = Event.objects.aggregate(newest=Max("pk"))["newest"] or 0
        anchor_day = _anchor_day()
        everything = full or state.last_event_id == 0 or state.anchor_day != anchor_day
        if anchor_day is None:
            figures, products = {}, None
        elif everything:
            figures, products = product_figures(anchor_day=anchor_day), None
        else:
            # Ids are taken before their transactions commit: an event with a lower id
            # may land after a refresh read past it, so each refresh looks back a margin.
            products = _touched_products(after=state.last_event_id - ID_MARGIN, upto=newest)
            figures = product_figures(anchor_day=anchor_day, product_ids=products)
        written = _write(figures, products)
        seconds = time.monotonic() - started
        RollupState.objects.filter(pk=state.pk).update(
            last_event_id=max(newest, state.last_event_id),
            anchor_day=anchor_day,
            refreshed_at=timezone.now(),
            days_refreshed=0,
            seconds=seconds,
        )
    done = {
        "skipped": False,
        "full": products is None,
        "products": len(figures) if products is None else len(products),
        "written": written,
        "seconds": round(seconds, 3),
    }
    logger.info("popularity refresh: %s", done)
    return done


def _anchor_day() -> date | None:
    """The newest event's day (UTC), but never after today: an event dated ahead (the
    ingestion accepts up to a day) counts from its own day, and cannot move every
    product's window."""
    latest = Event.objects.filter(occurred_at__lte=timezone.now()).aggregate(
        latest=Max("occurred_at")
    )["latest"]
    return None if latest is None else latest.astimezone(UTC).date()


@contextmanager
def _one_at_a_time():
    """Yields whether this is the only refresh running: a session-level advisory lock on
    Postgres (held across the write batches' commits); SQLite serializes writers."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK])
        alone = bool(cursor.fetchone()[0])
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK])


def product_figures(
    *, anchor_day, product_ids: Iterable[int] | None = None
) -> dict[int, ProductFigures]:
    """Each product's figures (only products with events in the window), from one
    aggregate over (product, shopper) pairs per chunk of ``product_ids`` (all when None)."""
    anchor = datetime.combine(anchor_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    if product_ids is None:
        return _aggregate(anchor, None)
    ids = sorted(set(product_ids))
    chunk = _id_chunk()
    figures: dict[int, ProductFigures] = {}
    for i in range(0, len(ids), chunk):
        figures.update(_aggregate(anchor, ids[i : i + chunk]))
    return figures


def _aggregate(anchor: datetime, product_ids: list[int] | None) -> dict[int, ProductFigures]:
    vendor = connection.vendor
    if vendor not in _EPOCH:
        raise NotSupportedError(f"popularity is computed on Postgres or SQLite, not {vendor}")
    weights = sorted(EVENT_WEIGHTS.items())
    weight = "CASE e.event_type " + " ".join("WHEN %s THEN %s" for _ in weights) + " END"
    weight_params = [p for event_type, w in weights for p in (str(event_type), w)]
    age = f"({_DOUBLE} - {_EPOCH[vendor]})"
    adapt = connection.ops.adapt_datetimefield_value
    window_start = anchor - timedelta(days=POPULARITY_WINDOW_DAYS)
    trending_start = anchor - timedelta(days=TRENDING_WINDOW_DAYS)
    anchor_epoch = anchor.timestamp()
    only = ""
    if product_ids is not None:
        only = f" AND e.product_id IN ({', '.join(['%s'] * len(product_ids))})"
    # Per (product, shopper): the strongest decayed interaction, overall and in the
    # trending window (0 outside it); then per product: their sums and the number of
    # shoppers in the trending window.
    sql = (
        "SELECT product_id, SUM(pop), SUM(trend),"
        " SUM(CASE WHEN trend > 0 THEN 1 ELSE 0 END) FROM ("
        f" SELECT e.product_id AS product_id,"
        f" MAX({weight} * POWER({_DOUBLE}, {age} / {_DOUBLE})) AS pop,"
        f" MAX(CASE WHEN e.occurred_at >= %s THEN {weight} * POWER({_DOUBLE}, {age} / {_DOUBLE})"
        " ELSE 0 END) AS trend"
        f' FROM "{Event._meta.db_table}" e'
        " WHERE e.occurred_at >= %s AND e.occurred_at < %s AND e.product_id IS NOT NULL"
        f" AND e.event_type IN ({', '.join(['%s'] * len(weights))}){only}"
        " GROUP BY e.product_id, e.user_id,"
        " CASE WHEN e.user_id IS NULL THEN e.session_id ELSE '' END"
        ") pairs GROUP BY product_id"
    )
    params = [
        *weight_params,
        0.5,
        anchor_epoch,
        POPULARITY_HALF_LIFE_DAYS * 86400.0,
        adapt(trending_start),
        *weight_params,
        0.5,
        anchor_epoch,
        TRENDING_HALF_LIFE_DAYS * 86400.0,
        adapt(window_start),
        adapt(anchor),
        *(str(event_type) for event_type, _ in weights),
        *(product_ids or []),
    ]
    minimum = max(1, settings.SHOP_TRENDING_MIN_SHOPPERS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        int(pid): ProductFigures(
            popularity=round(float(pop or 0), DECIMALS),
            trending=round(float(trend or 0), DECIMALS) if shoppers >= minimum else 0.0,
        )
        for pid, pop, trend, shoppers in rows
    }


def _touched_products(*, after: int, upto: int) -> set[int]:
    """Products of interest-bearing events with ids in (after, upto]."""
    return set(
        Event.objects.filter(
            pk__gt=after,
            pk__lte=upto,
            product__isnull=False,
            event_type__in=list(EVENT_WEIGHTS),
        )
        .values_list("product_id", flat=True)
        .distinct()
    )


def _write(figures: dict[int, ProductFigures], products: set[int] | None) -> int:
    """Store the figures where they changed, in product-id order and one transaction per
    WRITE_BATCH rows; products in scope (every product when ``products`` is None)
    without figures go to 0. Returns the number of rows written."""
    if products is None:
        scopes = [Product.objects.all()]
    else:
        ids = sorted(products)
        chunk = _id_chunk()
        scopes = [
            Product.objects.filter(pk__in=ids[i : i + chunk]) for i in range(0, len(ids), chunk)
        ]
    zero = ProductFigures(0.0, 0.0)
    changed = []
    for scope in scopes:
        rows = scope.order_by("pk").values_list("pk", "popularity", "trending")
        for pk, popularity, trending in rows.iterator(chunk_size=10000):
            new = figures.get(pk, zero)
            if new.popularity != popularity or new.trending != trending:
                changed.append(Product(pk=pk, popularity=new.popularity, trending=new.trending))
    for i in range(0, len(changed), WRITE_BATCH):
        with transaction.atomic():
            Product.objects.bulk_update(changed[i : i + WRITE_BATCH], ["popularity", "trending"])
    return len(changed)


def _id_chunk() -> int:
    """Product ids per query: PRODUCT_CHUNK, or fewer where the database takes fewer
    parameters (old SQLite builds: 999)."""
    limit = connection.features.max_query_params or PRODUCT_CHUNK + 100
    return max(1, min(PRODUCT_CHUNK, limit - 100))


__all__ = [
    "POPULARITY_HALF_LIFE_DAYS",
    "POPULARITY_WINDOW_DAYS",
    "TRENDING_HALF_LIFE_DAYS",
    "TRENDING_WINDOW_DAYS",
    "ProductFigures",
    "popularity_refresh",
    "product_figures",
]
