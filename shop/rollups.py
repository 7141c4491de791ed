"""Rollups: per-day figures computed from the event log by Celery, so that a dashboard
page reads a few hundred rows whatever the log's size.

Each rollup registers a function that recomputes its rows for a range of days (delete
the days' rows, aggregate the days' events, insert: idempotent). ``rollups_refresh``
finds the days that events newer than its watermark fall on (an import may bring
events from long ago) plus today, and recomputes those days for every rollup.

Plans (Postgres 15, 10M events): the new events' days come from a primary-key range,
``Index Scan using shop_event_pkey (Index Cond: (id > $1) AND (id <= $2))``; each
rollup's day range is bounded by ``event_time_idx`` (occurred_at, id):
``Index Scan using event_time_idx (Index Cond: occurred_at >= $1 AND occurred_at < $2)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from shop.models import Event, RollupState

logger = logging.getLogger(__name__)

# A rollup recomputes its rows for the days in [first, last] (both inclusive).
Refresher = Callable[[date, date], None]

WATERMARK = "events"
# The first refresh (or a full one) recomputes at most this many days back from today.
MAX_BACKFILL_DAYS = 400

_ROLLUPS: dict[str, Refresher] = {}


def rollup(name: str) -> Callable[[Refresher], Refresher]:
    """Register ``refresh(first, last)`` under ``name``."""

    def register(refresh: Refresher) -> Refresher:
        _ROLLUPS[name] = refresh
        return refresh

    return register


def registered_rollups() -> dict[str, Refresher]:
    return dict(_ROLLUPS)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[midnight of ``first``, midnight after ``last``) in the current time zone."""
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), datetime.min.time()))
    return start, end


def rollups_refresh(*, full: bool = False, today: date | None = None) -> dict:
    """Recompute every rollup on the days new events fell on (on the first run, every
    day from the oldest event's; with ``full``, every day: rows of days whose events
    were deleted go too), at most MAX_BACKFILL_DAYS before the newest event's day.
    Returns what it did.

    One refresh at a time: it runs in one transaction holding the watermark's row, so a
    second one (the overview's "Refresh now" while the Celery task runs) waits, then
    finds the watermark moved; two at once would insert the same days' rows twice."""
    started = time.monotonic()
    today = today or timezone.localdate()
    RollupState.objects.get_or_create(name=WATERMARK)
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(name=WATERMARK)
        newest = Event.objects.aggregate(newest=Max("pk"))["newest"] or 0
        # The backfill reaches MAX_BACKFILL_DAYS back from the newest event's day (or
        # today): an imported history from years ago is rolled up too.
        latest = Event.objects.aggregate(latest=Max("occurred_at"))["latest"]
        anchor = min(today, timezone.localdate(latest)) if latest is not None else today
        earliest = anchor - timedelta(days=MAX_BACKFILL_DAYS)
        days = {today}
        first = None
        if full:
            first = earliest
        elif state.last_event_id == 0:
            oldest = Event.objects.aggregate(oldest=Min("occurred_at"))["oldest"]
            first = None if oldest is None else max(timezone.localdate(oldest), earliest)
        elif newest > state.last_event_id:
            touched = Event.objects.filter(pk__gt=state.last_event_id, pk__lte=newest).dates(
                "occurred_at", "day"
            )
            days |= {d for d in touched if d >= earliest}
        if first is not None:
            # Every day from the first to today: one contiguous range, one aggregate per
            # rollup (a history's silent years cost no rows).
            days |= {first + timedelta(days=n) for n in range((today - first).days + 1)}
        ranges = _contiguous(sorted(days))
        for name, refresh in _ROLLUPS.items():
            for first_day, last_day in ranges:
                with transaction.atomic():
                    refresh(first_day, last_day)
            logger.info("rollup %s: %d day range(s) recomputed", name, len(ranges))
        seconds = time.monotonic() - started
        RollupState.objects.filter(pk=state.pk).update(
            last_event_id=max(newest, state.last_event_id),
            refreshed_at=timezone.now(),
            days_refreshed=len(days),
            seconds=seconds,
        )
    return {"days": len(days), "rollups": sorted(_ROLLUPS), "seconds": round(seconds, 3)}


def rollups_state() -> RollupState | None:
    """When the rollups last ran (the dashboards show it, and warn when it is old)."""
    return RollupState.objects.filter(name=WATERMARK).first()


def _contiguous(days: list[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
