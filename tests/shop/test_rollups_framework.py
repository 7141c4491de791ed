"""shop.rollups: which days a refresh recomputes (the watermark on event ids), for every
registered rollup, and what it records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shop import rollups
from shop.models import RollupState
from tests.factories import EventFactory

TODAY = date(2026, 11, 30)


@pytest.fixture
def calls(monkeypatch):
    """Only a recording rollup is registered: it notes each range it is asked for."""
    seen: list[tuple[date, date]] = []
    monkeypatch.setattr(rollups, "_ROLLUPS", {})
    rollups.rollup("recorder")(lambda first, last: seen.append((first, last)))
    return seen


def _event_on(day: date):
    return EventFactory(occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


@pytest.mark.django_db
def test_the_first_refresh_backfills_every_day_from_the_oldest_event(calls):
    _event_on(TODAY - timedelta(days=3))
    result = rollups.rollups_refresh(today=TODAY)
    assert calls == [(TODAY - timedelta(days=3), TODAY)]
    assert result["days"] == 4 and result["rollups"] == ["recorder"]
    state = RollupState.objects.get(name=rollups.WATERMARK)
    assert state.days_refreshed == 4 and state.last_event_id > 0


@pytest.mark.django_db
def test_later_refreshes_recompute_today_and_the_days_new_events_fell_on(calls):
    _event_on(TODAY)
    rollups.rollups_refresh(today=TODAY)
    calls.clear()
    rollups.rollups_refresh(today=TODAY)
    assert calls == [(TODAY, TODAY)]  # nothing new: today only
    calls.clear()
    old = TODAY - timedelta(days=40)
    _event_on(old)  # an import of old-dated events
    _event_on(old + timedelta(days=1))
    rollups.rollups_refresh(today=TODAY)
    assert calls == [(old, old + timedelta(days=1)), (TODAY, TODAY)]


@pytest.mark.django_db
def test_a_full_refresh_recomputes_everything_and_the_backfill_is_capped(calls):
    _event_on(TODAY - timedelta(days=rollups.MAX_BACKFILL_DAYS + 50))
    _event_on(TODAY - timedelta(days=10))
    rollups.rollups_refresh(today=TODAY)
    calls.clear()
    rollups.rollups_refresh(today=TODAY, full=True)
    # MAX_BACKFILL_DAYS before the newest event's day, then every day to today.
    assert calls == [(TODAY - timedelta(days=rollups.MAX_BACKFILL_DAYS + 10), TODAY)]


@pytest.mark.django_db
def test_an_old_imported_history_is_rolled_up_from_its_newest_day(calls):
    years_ago = TODAY - timedelta(days=3000)
    _event_on(years_ago - timedelta(days=2))
    _event_on(years_ago)
    rollups.rollups_refresh(today=TODAY)
    assert calls == [(years_ago - timedelta(days=2), TODAY)]


def test_registered_rollups_include_the_shops_own():
    # shop/apps.py imports the modules that register them.
    assert set(rollups.registered_rollups()) >= {"activity", "search_queries", "experiments"}
