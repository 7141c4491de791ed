"""shop.activity: what its rollups count (zero-result searches, recommendation clicks
and the conversions attributed to them), the distinct-shopper sketch, the report the
overview reads, and impressions that never count as interest in a product."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from shop.activity import (
    SKETCH_REGISTERS,
    activity_report,
    rate,
    sketch_add,
    sketch_estimate,
    sketch_merge,
)
from shop.events.record import event_record
from shop.events.validation import RowInvalid, parse_event
from shop.models import (
    DailyActivity,
    DailyRecommendations,
    Event,
    EventType,
    Product,
    RecommendationList,
)
from shop.popularity import popularity_refresh
from shop.rollups import rollups_refresh
from shop.selectors import trending_products
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)
NOON = datetime(2026, 6, 29, 12, tzinfo=UTC)
RECS = RecommendationList.RECOMMENDATIONS
SIMILAR = RecommendationList.SIMILAR


def _event(event_type, at, *, user=None, session="", product=None, **fields):
    return Event.objects.create(
        user=user,
        session_id=session,
        product=product,
        event_type=event_type,
        occurred_at=at,
        client_event_id=f"{event_type}-{at.isoformat()}-{Event.objects.count()}",
        **fields,
    )


def click(at, product, *, list_name=RECS, **who):
    return _event(EventType.CLICK, at, product=product, context={"list": list_name}, **who)


def purchase(at, product, **who):
    return _event(EventType.PURCHASE, at, product=product, **who)


def funnel(day: date, list_name=RECS) -> tuple[int, int, int]:
    row = DailyRecommendations.objects.filter(day=day, list=list_name).first()
    return (row.impressions, row.clicks, row.conversions) if row else (0, 0, 0)


# --- conversions -----------------------------------------------------------------------


def test_a_click_converts_when_the_same_shopper_buys_the_product_within_24_hours():
    shopper, other = UserFactory(), UserFactory()
    lamp, chair = ProductFactory(), ProductFactory()
    click(NOON, lamp, user=shopper)  # bought 23 h later: converts
    purchase(NOON + timedelta(hours=23), lamp, user=shopper)
    click(NOON, chair, user=shopper)  # bought 25 h later: too late
    purchase(NOON + timedelta(hours=25), chair, user=shopper)
    click(NOON, chair, user=other)  # someone else bought it: not this click's
    click(NOON, lamp, session="anon-1")  # another product bought by this session
    purchase(NOON + timedelta(hours=1), chair, session="anon-1")

    rollups_refresh(today=TODAY)

    assert funnel(NOON.date()) == (0, 4, 1)


def test_a_purchase_credits_only_the_latest_click_before_it():
    shopper, lamp = UserFactory(), ProductFactory()
    click(NOON, lamp, user=shopper, list_name=SIMILAR)
    click(NOON + timedelta(hours=2), lamp, user=shopper, list_name=RECS)
    purchase(NOON + timedelta(hours=3), lamp, user=shopper)
    purchase(NOON + timedelta(hours=4), lamp, user=shopper)  # bought twice: one click
    click(NOON + timedelta(hours=5), lamp, user=shopper)  # after both purchases

    rollups_refresh(today=TODAY)

    assert funnel(NOON.date(), SIMILAR) == (0, 1, 0)
    assert funnel(NOON.date(), RECS) == (0, 2, 1)


def test_a_purchase_after_midnight_converts_yesterdays_click_on_the_next_refresh():
    shopper, lamp = UserFactory(), ProductFactory()
    late = datetime(2026, 6, 28, 23, 30, tzinfo=UTC)
    click(late, lamp, user=shopper)
    rollups_refresh(today=TODAY)
    assert funnel(late.date()) == (0, 1, 0)

    purchase(late + timedelta(hours=1), lamp, user=shopper)  # lands on the 29th
    rollups_refresh(today=TODAY)

    assert funnel(late.date()) == (0, 1, 1)
    assert funnel(late.date() + timedelta(days=1)) == (0, 0, 0)


def test_search_clicks_and_plain_views_are_not_recommendation_clicks():
    shopper, lamp = UserFactory(), ProductFactory()
    _event(EventType.CLICK, NOON, product=lamp, user=shopper, query="lamp", position=1)
    _event(EventType.VIEW, NOON, product=lamp, user=shopper)
    _event(EventType.IMPRESSION, NOON, user=shopper, context={"list": RECS, "shown": [1]})
    _event(EventType.IMPRESSION, NOON, user=shopper, context={"list": "elsewhere"})
    purchase(NOON + timedelta(hours=1), lamp, user=shopper)

    rollups_refresh(today=TODAY)

    assert funnel(NOON.date()) == (1, 0, 0)
    assert not DailyRecommendations.objects.exclude(list__in=RecommendationList.values).exists()


def test_zero_result_searches_are_those_that_found_nothing():
    shopper = UserFactory()
    for results in (0, 0, 5, None):
        context = {} if results is None else {"results": results, "shown": []}
        _event(EventType.SEARCH, NOON, user=shopper, query="lamp", context=context)

    rollups_refresh(today=TODAY)

    day = DailyActivity.objects.get(day=NOON.date())
    assert (day.events, day.shoppers, day.searches, day.zero_result_searches) == (4, 1, 4, 2)


# --- distinct shoppers over a range ----------------------------------------------------


def test_the_sketch_counts_distinct_keys_within_its_error():
    rng = random.Random(1)
    for size in (0, 1, 40, 3_000, 60_000):
        registers = bytearray(SKETCH_REGISTERS)
        keys = {f"u{rng.getrandbits(48)}" for _ in range(size)}
        for key in keys:
            sketch_add(registers, key)
            sketch_add(registers, key)  # a repeat changes nothing
        estimate = sketch_estimate(bytes(registers))
        assert abs(estimate - len(keys)) <= max(1, 0.05 * len(keys)), (size, estimate)


def test_merged_sketches_count_a_returning_shopper_once():
    monday, tuesday = bytearray(SKETCH_REGISTERS), bytearray(SKETCH_REGISTERS)
    for n in range(500):
        sketch_add(monday, f"u{n}")
    for n in range(250, 1000):  # 250 of them come back
        sketch_add(tuesday, f"u{n}")

    estimate = sketch_estimate(sketch_merge([bytes(monday), bytes(tuesday)]))

    assert abs(estimate - 1000) <= 30
    assert sketch_merge([]) == bytes(SKETCH_REGISTERS)


def test_the_database_sketches_estimate_a_ranges_shoppers_within_3_percent():
    """1,200 anonymous shoppers a day on two days, 400 of them on both: 2,000 shoppers
    (Postgres builds the sketches in SQL, other databases in Python)."""
    lamp = ProductFactory()
    monday, tuesday = datetime(2026, 6, 28, 9, tzinfo=UTC), datetime(2026, 6, 29, 9, tzinfo=UTC)
    Event.objects.bulk_create(
        Event(
            session_id=f"session-{n}",
            product=lamp,
            event_type=EventType.VIEW,
            client_event_id=f"{day:%d}-{n}",
            occurred_at=day,
        )
        for day, shoppers in ((monday, range(1200)), (tuesday, range(800, 2000)))
        for n in shoppers
    )
    rollups_refresh(today=TODAY)

    report = activity_report(first=monday.date(), last=tuesday.date())

    assert report.shoppers == [1200, 1200]
    assert abs(report.shoppers_in_range - 2000) <= 60, report.shoppers_in_range


def test_the_report_fills_every_day_and_estimates_the_ranges_shoppers():
    first, second = UserFactory(), UserFactory()
    lamp = ProductFactory()
    for day in (26, 28):
        at = datetime(2026, 6, day, 9, tzinfo=UTC)
        _event(EventType.VIEW, at, user=first, product=lamp)
        _event(EventType.VIEW, at, user=second, product=lamp)
        _event(EventType.SEARCH, at, session="anon", query="x", context={"results": 0})
        _event(EventType.IMPRESSION, at, session="anon", context={"list": RECS})
        click(at, lamp, session="anon")
    rollups_refresh(today=TODAY)

    report = activity_report(first=date(2026, 6, 25), last=date(2026, 6, 29))

    assert report.days[0] == date(2026, 6, 25) and len(report.days) == 5
    assert report.events == [0, 5, 0, 5, 0]
    assert report.shoppers == [0, 3, 0, 3, 0]
    assert report.shoppers_in_range == 3 and report.shoppers_estimated
    assert report.events_by_type == {
        EventType.VIEW: [0, 2, 0, 2, 0],
        EventType.CLICK: [0, 1, 0, 1, 0],
        EventType.SEARCH: [0, 1, 0, 1, 0],
        EventType.IMPRESSION: [0, 1, 0, 1, 0],
    }
    assert (report.total("searches"), report.total("zero_result_searches")) == (2, 2)
    assert (report.total("impressions"), report.total("clicks", RECS)) == (2, 2)
    assert report.total("clicks", SIMILAR) == 0
    one_day = activity_report(first=date(2026, 6, 26), last=date(2026, 6, 26))
    assert (one_day.shoppers_in_range, one_day.shoppers_estimated) == (3, False)
    assert rate(1, 4) == 0.25 and rate(3, 0) is None


# --- impressions are not interest ------------------------------------------------------


def test_an_impression_adds_no_popularity_and_no_trending_weight():
    shown = ProductFactory()
    before = Product.objects.get(pk=shown.pk).popularity
    shopper = Shopper(user_id=UserFactory().pk)

    event = event_record(
        shopper=shopper,
        event_type=EventType.IMPRESSION,
        context={"list": RECS, "shown": [shown.pk]},
    )

    assert event.product_id is None
    popularity_refresh(full=True)
    assert Product.objects.get(pk=shown.pk).popularity == before
    assert trending_products(limit=5) == []


def test_an_impression_row_names_its_list_and_needs_no_product():
    row = {"type": "impression", "user": "u1", "occurred_at": "2026-06-29T12:00:00Z"}

    parsed = parse_event(
        {**row, "context": {"list": "similar", "shown": [4, 2]}}, default_source="app"
    )

    assert (parsed.event_type, parsed.sku, parsed.context["list"]) == ("impression", "", "similar")
    for context in (None, {"shown": [1]}, {"list": "sidebar"}):
        with pytest.raises(RowInvalid) as refused:
            parse_event({**row, "context": context}, default_source="app")
        assert refused.value.field == "context"
    with pytest.raises(RowInvalid) as refused:  # what it showed is no interest in a product
        parse_event({**row, "sku": "LAMP-1", "context": {"list": "similar"}}, default_source="x")
    assert refused.value.field == "sku"


def test_the_apps_event_batch_accepts_impressions_and_list_clicks(client):
    lamp = ProductFactory(sku="LAMP-1")
    rows = [
        {"event_id": "i1", "type": "impression", "occurred_at": "2026-06-29T12:00:00Z",
         "context": {"list": "recommendations", "shown": [lamp.pk]}},
        {"event_id": "c1", "type": "click", "sku": "LAMP-1", "position": 1,
         "occurred_at": "2026-06-29T12:00:05Z", "context": {"list": "recommendations"}},
    ]  # fmt: skip

    response = client.post(reverse("v1:events"), {"events": rows}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "duplicates": 0, "errors": []}
    rollups_refresh(today=TODAY)
    assert funnel(date(2026, 6, 29)) == (1, 1, 0)


def test_the_event_schema_lists_the_impression_type(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()

    types = schema["components"]["schemas"]["TypeEnum"]["enum"]

    assert "impression" in types
