"""The activity rollups equal a direct count of the event log, day by day, after the
first refresh, after an import of old-dated events (the watermark finds their days) and
through the ``rollups`` command."""

from __future__ import annotations

import io
import json
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.models import (
    DailyActivity,
    DailyEventType,
    DailyRecommendations,
    Event,
    EventType,
    RecommendationList,
    RollupState,
)
from shop.rollups import rollups_refresh
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
DAYS = 6


def _shopper_key(event: Event) -> str:
    return f"u{event.user_id}" if event.user_id else f"s{event.session_id}"


def direct_counts() -> dict:
    """What the rollups should hold, counted from every event one by one."""
    per_type: Counter = Counter()
    type_shoppers = defaultdict(set)
    day_shoppers = defaultdict(set)
    searches: Counter = Counter()
    zero_results: Counter = Counter()
    impressions: Counter = Counter()
    clicks: Counter = Counter()
    for event in Event.objects.all():
        day = timezone.localdate(event.occurred_at)
        per_type[day, event.event_type] += 1
        type_shoppers[day, event.event_type].add(_shopper_key(event))
        day_shoppers[day].add(_shopper_key(event))
        if event.event_type == EventType.SEARCH:
            searches[day] += 1
            zero_results[day] += event.context.get("results") == 0
        list_name = event.context.get("list")
        if event.event_type == EventType.IMPRESSION:
            impressions[day, list_name] += 1
        if event.event_type == EventType.CLICK and list_name:
            clicks[day, list_name] += 1
    return {
        "types": {key: (n, len(type_shoppers[key])) for key, n in per_type.items()},
        "days": {
            day: (
                sum(n for (d, _), n in per_type.items() if d == day),
                len(shoppers),
                searches[day],
                zero_results[day],
            )
            for day, shoppers in day_shoppers.items()
        },
        "lists": {key: (impressions[key], clicks[key]) for key in impressions | clicks},
    }


def rollup_counts() -> dict:
    return {
        "types": {
            (r.day, r.event_type): (r.events, r.shoppers) for r in DailyEventType.objects.all()
        },
        "days": {
            r.day: (r.events, r.shoppers, r.searches, r.zero_result_searches)
            for r in DailyActivity.objects.all()
        },
        "lists": {
            (r.day, r.list): (r.impressions, r.clicks)
            for r in DailyRecommendations.objects.all()
            if r.impressions or r.clicks
        },
    }


def generate(rng: random.Random, *, days: list[date], count: int) -> None:
    """``count`` events of every type over ``days`` by a few users and anonymous
    sessions, some at a day's first and last second."""
    users = [UserFactory() for _ in range(4)]
    products = [ProductFactory() for _ in range(3)]
    types = list(EventType.values)
    for n in range(count):
        day = rng.choice(days)
        second = rng.choice([0, 86_399, rng.randrange(86_400)])
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=second)
        event_type = rng.choice(types)
        user = rng.choice([*users, None])
        context: dict = {}
        product = rng.choice(products)
        if event_type == EventType.SEARCH:
            context, product = {"results": rng.choice([0, 0, 3, 12])}, None
        elif event_type == EventType.IMPRESSION:
            context, product = {"list": rng.choice(RecommendationList.values), "shown": [1]}, None
        elif event_type == EventType.CLICK and rng.random() < 0.5:
            context = {"list": rng.choice(RecommendationList.values)}
        Event.objects.create(
            user=user,
            session_id="" if user else f"session-{rng.randrange(3)}",
            product=product,
            event_type=event_type,
            value=3 if event_type == EventType.RATING else None,
            query="lamp" if event_type == EventType.SEARCH else "",
            context=context,
            client_event_id=f"gen-{n}-{rng.random()}",
            occurred_at=moment,
        )


def test_the_rollups_equal_a_direct_count_over_several_days():
    days = [TODAY - timedelta(days=n) for n in range(DAYS)]
    generate(random.Random(7), days=days, count=300)

    rollups_refresh(today=TODAY)

    expected = direct_counts()
    assert len(expected["days"]) == DAYS
    assert rollup_counts() == expected
    # Every type of the generator was counted somewhere, recommendation lists included.
    assert {t for _, t in expected["types"]} == set(EventType.values)
    assert {name for _, name in expected["lists"]} == set(RecommendationList.values)


def test_an_import_of_old_events_after_a_refresh_is_counted_on_its_days(tmp_path):
    days = [TODAY - timedelta(days=n) for n in range(3)]
    generate(random.Random(11), days=days, count=120)
    rollups_refresh(today=TODAY)
    before = rollup_counts()
    old_day = TODAY - timedelta(days=45)
    user = UserFactory(username="importer-shopper")
    ProductFactory(sku="OLD-1")
    rows = [
        {"user": user.username, "type": "view", "sku": "OLD-1", "occurred_at": f"{old_day}T08:00:00Z"},
        {"user": user.username, "type": "search", "query": "lamp", "context": {"results": 0}, "occurred_at": f"{old_day}T08:01:00Z"},
        {"session_id": "old-session", "type": "impression", "context": {"list": "similar", "shown": [1]}, "occurred_at": f"{old_day}T23:59:59Z"},
        {"session_id": "old-session", "type": "click", "sku": "OLD-1", "position": 1, "context": {"list": "similar"}, "occurred_at": f"{old_day + timedelta(days=1)}T00:00:00Z"},
        # and one more on a day the first refresh already counted
        {"user": user.username, "type": "purchase", "sku": "OLD-1", "occurred_at": f"{TODAY - timedelta(days=1)}T10:00:00Z"},
    ]  # fmt: skip
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    call_command("import_events", str(path), stdout=io.StringIO(), no_progress=True)
    assert Event.objects.filter(source="import").count() == len(rows)

    rollups_refresh(today=TODAY)

    after = rollup_counts()
    assert after == direct_counts()
    assert after["days"][old_day] == (3, 2, 1, 1)
    assert after["lists"][old_day + timedelta(days=1), "similar"] == (0, 1)
    assert after["days"][TODAY - timedelta(days=1)] != before["days"][TODAY - timedelta(days=1)]


def test_a_refresh_with_nothing_new_changes_nothing():
    generate(random.Random(3), days=[TODAY, TODAY - timedelta(days=1)], count=60)
    rollups_refresh(today=TODAY)
    first = rollup_counts()

    rollups_refresh(today=TODAY)

    assert rollup_counts() == first == direct_counts()


def test_a_day_whose_events_are_all_gone_loses_its_rows_on_a_full_refresh():
    generate(random.Random(5), days=[TODAY - timedelta(days=2), TODAY], count=40)
    rollups_refresh(today=TODAY)
    Event.objects.filter(occurred_at__date=TODAY - timedelta(days=2)).delete()

    rollups_refresh(today=TODAY, full=True)

    assert rollup_counts() == direct_counts()
    assert not DailyActivity.objects.filter(day=TODAY - timedelta(days=2)).exists()


def test_the_rollups_command_refreshes_and_backfills_with_full():
    today = timezone.localdate()
    generate(random.Random(9), days=[today - timedelta(days=n) for n in range(3)], count=50)
    out = io.StringIO()

    call_command("rollups", stdout=out)

    assert "day(s) recomputed" in out.getvalue() and "activity" in out.getvalue()
    assert rollup_counts() == direct_counts()
    state = RollupState.objects.get()
    assert state.last_event_id == Event.objects.order_by("-pk").first().pk
    DailyActivity.objects.all().delete()
    DailyEventType.objects.all().delete()

    call_command("rollups", "--full", stdout=out)

    assert rollup_counts() == direct_counts()
