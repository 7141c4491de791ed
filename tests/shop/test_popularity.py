"""Popularity one visitor cannot move (shop.popularity): distinct shoppers, each counted
once with their strongest interaction, decayed with age; trending needs a minimum of
distinct shoppers in the last two weeks. Runs on SQLite and Postgres (the aggregate's
time arithmetic is per database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from shop import popularity
from shop.models import Event, EventType, Product, RollupState
from shop.popularity import (
    ADVISORY_LOCK,
    POPULARITY_HALF_LIFE_DAYS,
    STATE,
    TRENDING_HALF_LIFE_DAYS,
    popularity_refresh,
)
from shop.selectors import trending_products
from shop.tasks import popularity_refresh_task
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

# Noon of the newest event's day (in the past: the anchor is never after today); ages
# are measured from the end of that day.
NOON = datetime(2025, 6, 20, 12, 0, tzinfo=UTC)


def figures(product: Product) -> tuple[float, float]:
    product.refresh_from_db()
    return product.popularity, product.trending


def decayed(days_before_day_end: float, half_life: float) -> float:
    return 0.5 ** (days_before_day_end / half_life)


@pytest.fixture(autouse=True)
def _no_cached_trending(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def test_one_visitor_viewing_a_product_fifty_times_counts_as_one_view():
    bot, shoppers = UserFactory(), [UserFactory(), UserFactory()]
    hammered, liked = ProductFactory(), ProductFactory()
    for _ in range(50):
        EventFactory(user=bot, product=hammered, occurred_at=NOON)
    for user in shoppers:
        EventFactory(user=user, product=liked, occurred_at=NOON)

    popularity_refresh()

    one_view = round(decayed(0.5, POPULARITY_HALF_LIFE_DAYS), 4)
    assert figures(hammered)[0] == pytest.approx(one_view, abs=1e-4)
    assert figures(liked)[0] == pytest.approx(2 * one_view, abs=1e-4)


def test_anonymous_sessions_count_once_each_and_apart_from_users():
    product = ProductFactory()
    for session in ("s-1", "s-1", "s-1", "s-2"):
        EventFactory(user=None, session_id=session, product=product, occurred_at=NOON)
    EventFactory(product=product, occurred_at=NOON)  # a signed-in shopper

    popularity_refresh()

    assert figures(product)[0] == pytest.approx(3 * decayed(0.5, 30), abs=1e-3)


def test_a_shopper_counts_with_their_strongest_interaction_not_the_sum():
    user, product = UserFactory(), ProductFactory()
    EventFactory(user=user, product=product, occurred_at=NOON)
    EventFactory(user=user, product=product, occurred_at=NOON, event_type=EventType.PURCHASE)
    EventFactory(user=user, product=product, occurred_at=NOON, event_type=EventType.IMPRESSION)

    popularity_refresh()

    assert figures(product)[0] == pytest.approx(5 * decayed(0.5, 30), abs=1e-3)


def test_older_interest_counts_less_and_none_past_the_window():
    fresh, month_old, ancient = ProductFactory(), ProductFactory(), ProductFactory()
    EventFactory(product=fresh, occurred_at=NOON)
    EventFactory(product=month_old, occurred_at=NOON - timedelta(days=30))
    EventFactory(product=ancient, occurred_at=NOON - timedelta(days=181))

    popularity_refresh()

    assert figures(month_old)[0] / figures(fresh)[0] == pytest.approx(0.5, rel=1e-2)
    assert figures(ancient) == (0.0, 0.0)


@override_settings(SHOP_TRENDING_MIN_SHOPPERS=3)
def test_trending_needs_the_minimum_of_distinct_shoppers_in_the_last_two_weeks():
    two, three, stale = ProductFactory(), ProductFactory(), ProductFactory()
    visitor = UserFactory()
    for _ in range(20):  # one visitor, however often, is one shopper
        EventFactory(user=visitor, product=two, occurred_at=NOON)
    EventFactory(product=two, occurred_at=NOON)
    for _ in range(3):
        EventFactory(product=three, occurred_at=NOON)
    for _ in range(5):  # popular, but three weeks ago
        EventFactory(product=stale, occurred_at=NOON - timedelta(days=21))

    popularity_refresh()

    assert figures(two)[1] == 0.0 and figures(two)[0] > 0
    assert figures(three)[1] == pytest.approx(3 * decayed(0.5, TRENDING_HALF_LIFE_DAYS), abs=1e-3)
    assert figures(stale)[1] == 0.0 and figures(stale)[0] > 0
    assert trending_products(limit=10) == [(three.pk, figures(three)[1])]


def test_inactive_products_are_never_trending():
    product = ProductFactory(is_active=False)
    for _ in range(3):
        EventFactory(product=product, occurred_at=NOON)
    popularity_refresh()
    assert figures(product)[1] > 0 and trending_products(limit=10) == []


def test_a_refresh_recomputes_only_the_products_of_new_events_within_the_same_day(
    monkeypatch,
):
    monkeypatch.setattr(popularity, "ID_MARGIN", 0)  # no look-back below the watermark
    quiet, busy = ProductFactory(), ProductFactory()
    EventFactory(product=quiet, occurred_at=NOON)
    EventFactory(product=busy, occurred_at=NOON)
    assert popularity_refresh()["full"] is True  # the first one reads everything

    Product.objects.filter(pk=quiet.pk).update(popularity=99)  # would be reset by a full one
    EventFactory(product=busy, occurred_at=NOON - timedelta(hours=1))
    done = popularity_refresh()

    assert done["full"] is False and done["products"] == 1
    assert figures(quiet)[0] == 99
    assert figures(busy)[0] == pytest.approx(2 * decayed(0.5, 30), abs=1e-3)


def test_a_new_newest_day_recomputes_every_product_and_ages_them():
    product = ProductFactory()
    EventFactory(product=product, occurred_at=NOON)
    popularity_refresh()
    before = figures(product)[0]

    EventFactory(occurred_at=NOON + timedelta(days=30))  # another product, a month later
    done = popularity_refresh()

    assert done["full"] is True
    assert figures(product)[0] == pytest.approx(before / 2, rel=1e-2)
    state = RollupState.objects.get(name=STATE)
    assert state.anchor_day == (NOON + timedelta(days=30)).date()


def test_deleted_events_leave_with_a_full_refresh():
    event = EventFactory(occurred_at=NOON)
    popularity_refresh()
    assert figures(event.product)[0] > 0
    product = event.product
    event.delete()

    popularity_refresh(full=True)

    assert figures(product) == (0.0, 0.0)


def test_the_task_and_the_command_refresh(capsys):
    product = ProductFactory()
    EventFactory(product=product, occurred_at=NOON)
    assert popularity_refresh_task()["written"] == 1
    call_command("popularity", "--full")
    assert "every product recomputed, 0 changed" in capsys.readouterr().out


def test_an_empty_event_log_refreshes_to_nothing():
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(popularity=7)
    assert popularity_refresh()["written"] == 1
    assert figures(product) == (0.0, 0.0)


@override_settings(SHOP_TRENDING_MIN_SHOPPERS=3)
def test_one_visitors_views_trend_nothing_on_the_storefront_or_in_the_api(client):
    """The issue's report: three product views by one visitor made those products
    "Popular right now" for every visitor and in the API."""
    viewed = [ProductFactory(title=f"Viewed {n}") for n in range(3)]
    for product in viewed:
        for _ in range(3):
            assert client.get(product.get_absolute_url()).status_code == 200
    popularity_refresh()

    newcomer = client.__class__()
    home = newcomer.get("/").content.decode()
    api = newcomer.get("/api/v1/recommendations/").json()

    assert "Popular right now" not in home and "New in the shop" in home
    reasons = {item["reason"] for item in api}
    assert "Popular right now" not in reasons

    for _ in range(2):  # two more shoppers: three distinct now
        other = client.__class__()
        other.get(viewed[0].get_absolute_url())
    popularity_refresh()
    api = client.__class__().get("/api/v1/recommendations/").json()
    assert (api[0]["id"], api[0]["reason"]) == (viewed[0].pk, "Popular right now")


def test_an_event_dated_ahead_does_not_move_every_products_window():
    """Ingestion accepts events up to a day ahead; the anchor stays at today at most."""
    product, ahead = ProductFactory(), ProductFactory()
    EventFactory(product=product, occurred_at=NOON)
    popularity_refresh()
    before = figures(product)[0]

    EventFactory(product=ahead, occurred_at=timezone.now() + timedelta(hours=20))
    popularity_refresh()

    assert figures(ahead) == (0.0, 0.0)  # counted from its own day on
    assert figures(product)[0] <= before  # aged at most to today, not pushed past it
    assert RollupState.objects.get(name=STATE).anchor_day <= timezone.now().date()


def test_an_event_committed_after_a_refresh_read_past_its_id_is_still_counted():
    """Ids are taken before commit: a batch with lower ids may land after a later one."""
    first, late = ProductFactory(), ProductFactory()
    EventFactory(product=first, occurred_at=NOON)
    gap = EventFactory(product=first, occurred_at=NOON)
    EventFactory(product=first, occurred_at=NOON)
    gap_id = gap.pk
    gap.delete()
    popularity_refresh()

    Event.objects.create(  # the slow transaction commits now, with its earlier id
        pk=gap_id,
        user=UserFactory(),
        product=late,
        event_type=EventType.VIEW,
        client_event_id="late",
        occurred_at=NOON,
    )
    done = popularity_refresh()

    assert done["full"] is False and figures(late)[0] > 0


def test_an_incremental_refresh_in_chunks_of_one_product_sees_every_product(monkeypatch):
    products = [ProductFactory() for _ in range(4)]
    EventFactory(product=products[0], occurred_at=NOON)
    popularity_refresh()
    monkeypatch.setattr(popularity, "PRODUCT_CHUNK", 1)
    for n, product in enumerate(products):
        for _ in range(n + 1):
            EventFactory(product=product, occurred_at=NOON)

    done = popularity_refresh()

    assert done["full"] is False and done["products"] == 4
    values = [figures(p)[0] for p in products]
    assert values == sorted(values) and values[0] > 0  # 2, 2, 3, 4 shoppers
    assert values[3] == pytest.approx(4 * decayed(0.5, POPULARITY_HALF_LIFE_DAYS), abs=1e-3)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the advisory lock is Postgres's; SQLite serializes"
)
@pytest.mark.django_db(transaction=True)
def test_a_second_refresh_while_one_runs_is_skipped():
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK])
        assert popularity_refresh() == {"skipped": True}
        out = StringIO()
        call_command("popularity", stdout=out)
        assert "Another popularity refresh is running" in out.getvalue()
        other.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK])
        assert popularity_refresh()["skipped"] is False
    finally:
        other.close()
