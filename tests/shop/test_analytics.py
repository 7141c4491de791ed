"""Search analytics: from the event log over a window of days (the staff API), the
per-day rollups of queries and positions, and the dashboard's report over them."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.analytics import MAX_POSITION, search_analytics
from shop.analytics.report import search_report
from shop.analytics.rollup import search_rollups_refresh
from shop.models import EventType, SearchPositionDay, SearchQueryDay
from shop.rollups import registered_rollups, rollups_refresh
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def shopper():
    return UserFactory()


@pytest.fixture
def product():
    return ProductFactory()


def search(shopper, query, *, shown=(), results=None, days_ago=1, context=None):
    return EventFactory(
        user=shopper,
        product=None,
        event_type=EventType.SEARCH,
        query=query,
        context=context
        if context is not None
        else {"results": len(shown) if results is None else results, "shown": list(shown)},
        occurred_at=NOW - timedelta(days=days_ago),
    )


def click(shopper, product, query, position, *, days_ago=1):
    return EventFactory(
        user=shopper,
        product=product,
        event_type=EventType.CLICK,
        query=query,
        position=position,
        occurred_at=NOW - timedelta(days=days_ago),
    )


def test_top_queries_count_searches_case_folded_with_their_clicks(shopper, product):
    for query in ("Lipstick", "lipstick", "lipstick"):
        search(shopper, query, shown=[product.pk])
    search(shopper, "shampoo", shown=[product.pk])
    click(shopper, product, "LIPSTICK", 1)
    click(shopper, product, "lipstick", 2)

    analytics = search_analytics(days=30, now=NOW)

    assert [(q.query, q.searches, q.clicks) for q in analytics.top_queries] == [
        ("lipstick", 3, 2),
        ("shampoo", 1, 0),
    ]
    assert analytics.top_queries[0].click_through_rate == pytest.approx(2 / 3, abs=1e-4)
    assert analytics.top_queries[1].click_through_rate == 0.0
    assert (analytics.searches, analytics.clicks) == (4, 2)


def test_only_the_window_counts(shopper, product):
    search(shopper, "recent", shown=[product.pk], days_ago=2)
    search(shopper, "old", shown=[product.pk], days_ago=10)
    click(shopper, product, "old", 1, days_ago=10)

    analytics = search_analytics(days=7, now=NOW)

    assert [q.query for q in analytics.top_queries] == ["recent"]
    assert analytics.clicks == 0
    assert analytics.since == NOW - timedelta(days=7)


def test_limit_keeps_the_most_searched(shopper):
    for n, query in enumerate(["a", "b", "c"]):
        for _ in range(n + 1):
            search(shopper, query, results=0)

    analytics = search_analytics(days=30, limit=2, now=NOW)

    assert [q.query for q in analytics.top_queries] == ["c", "b"]
    assert [q.query for q in analytics.zero_result_queries] == ["c", "b"]


def test_zero_result_queries_are_those_that_found_nothing(shopper, product):
    search(shopper, "lipstik", results=0, days_ago=3)
    latest = search(shopper, "Lipstik", results=0, days_ago=1)
    search(shopper, "lipstick", shown=[product.pk])
    search(shopper, "no context", context={})

    analytics = search_analytics(days=30, now=NOW)

    assert [(z.query, z.searches) for z in analytics.zero_result_queries] == [("lipstik", 2)]
    assert analytics.zero_result_queries[0].last_searched_at == latest.occurred_at


def test_click_through_by_position_counts_impressions_from_the_lists_shown(shopper, product):
    search(shopper, "three", shown=[1, 2, 3])
    search(shopper, "one", shown=[1])
    search(shopper, "long", shown=list(range(1, 31)))  # only the first 20 count
    search(shopper, "app search without a list", context={"results": 5})
    click(shopper, product, "three", 1)
    click(shopper, product, "three", 3)
    click(shopper, product, "long", 3)
    click(shopper, product, "long", 25)  # past the positions reported
    EventFactory(user=shopper, product=product, event_type=EventType.CLICK, position=1)  # no query

    positions = search_analytics(days=30, now=NOW).positions

    assert [p.position for p in positions] == list(range(1, MAX_POSITION + 1))
    by_position = {p.position: (p.impressions, p.clicks) for p in positions}
    assert by_position[1] == (3, 1)
    assert by_position[2] == (2, 0)
    assert by_position[3] == (2, 2)
    assert by_position[4] == (1, 0)
    assert by_position[20] == (1, 0)
    assert positions[2].click_through_rate == 1.0
    assert positions[0].click_through_rate == pytest.approx(1 / 3, abs=1e-4)


def test_no_events_give_empty_lists_and_zero_rates():
    analytics = search_analytics(days=30, now=NOW)

    assert analytics.top_queries == [] and analytics.zero_result_queries == []
    assert all(p.impressions == 0 and p.click_through_rate == 0.0 for p in analytics.positions)


def test_the_database_aggregates_in_a_fixed_number_of_queries(shopper, product):
    for n in range(30):
        search(shopper, f"query {n % 7}", shown=[product.pk] * (n % 4), results=n % 4)
        click(shopper, product, f"query {n % 7}", n % 5 + 1)

    with CaptureQueriesContext(connection) as queries:
        search_analytics(days=30, now=NOW)

    assert len(queries) == 6  # totals, top, their clicks, zero-result, lengths, positions


# ------------------------------------------------------------------ the per-day rollups

DAY = date(2026, 3, 10)


def at(day: date, hour: int = 12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def logged_search(shopper, query, *, personalized=None, results=3, shown=(1, 2, 3), day=DAY):
    context = {"results": results, "shown": list(shown)}
    if personalized is not None:
        context["personalized"] = personalized
    return EventFactory(
        user=shopper,
        product=None,
        event_type=EventType.SEARCH,
        query=query,
        context=context,
        occurred_at=at(day),
    )


def result_click(shopper, product, query, position, *, search=None, context=None, day=DAY):
    return EventFactory(
        user=shopper,
        product=product,
        event_type=EventType.CLICK,
        query=query,
        position=position,
        context=context if context is not None else {"search_event_id": search.pk},
        occurred_at=at(day, 13),
    )


def test_search_queries_is_a_registered_rollup():
    assert registered_rollups()["search_queries"] is search_rollups_refresh


def test_rollup_counts_a_days_searches_zero_results_and_clicks_per_normalized_query(
    shopper, product
):
    first = logged_search(shopper, "Red  Lipstick!")
    logged_search(shopper, "red lipstick", results=0, shown=())
    logged_search(shopper, "shampoo", day=DAY + timedelta(days=1))  # another day
    result_click(shopper, product, "RED LIPSTICK", 2, search=first)
    result_click(shopper, product, "red lipstick", None, context={})  # no position

    search_rollups_refresh(DAY, DAY)

    row = SearchQueryDay.objects.get()
    assert (row.day, row.query) == (DAY, "red lipstick")
    assert (row.searches, row.zero_result_searches) == (2, 1)
    assert (row.clicks, row.positioned_clicks, row.position_sum) == (2, 1, 2)


def test_rollup_splits_searches_and_clicks_by_the_order_of_the_page_clicked(shopper, product):
    personal = logged_search(shopper, "soap", personalized=True)
    lexical = logged_search(shopper, "soap", personalized=False)
    logged_search(shopper, "soap")  # logged before the flag existed
    result_click(shopper, product, "soap", 1, search=personal)
    result_click(shopper, product, "soap", 3, search=personal)
    result_click(shopper, product, "soap", 5, search=lexical)
    for malformed in (
        {"search_event_id": "x"},
        {"search_event_id": 1.5},
        {"search_event_id": 10**30},
    ):
        result_click(shopper, product, "soap", 7, context=malformed)

    search_rollups_refresh(DAY, DAY)

    row = SearchQueryDay.objects.get(query="soap")
    assert (row.searches, row.personalized_searches, row.lexical_searches) == (3, 1, 1)
    assert (row.clicks, row.position_sum) == (6, 1 + 3 + 5 + 21)
    assert (row.personalized_clicks, row.personalized_position_sum) == (2, 4)
    assert (row.lexical_clicks, row.lexical_position_sum) == (1, 5)


def test_rollup_counts_impressions_and_clicks_per_position_by_order(shopper, product):
    personal = logged_search(shopper, "a", personalized=True, shown=[1, 2, 3])
    logged_search(shopper, "b", personalized=False, shown=[1])
    logged_search(shopper, "c", shown=list(range(30)))  # only the first 20 positions count
    result_click(shopper, product, "a", 2, search=personal)
    result_click(shopper, product, "c", 20, context={})

    search_rollups_refresh(DAY, DAY)

    rows = {r.position: r for r in SearchPositionDay.objects.filter(day=DAY)}
    assert sorted(rows) == list(range(1, MAX_POSITION + 1))
    assert (rows[1].impressions, rows[1].personalized_impressions, rows[1].lexical_impressions) == (
        3,
        1,
        1,
    )
    assert (rows[2].impressions, rows[2].clicks, rows[2].personalized_clicks) == (2, 1, 1)
    assert (rows[4].impressions, rows[20].impressions, rows[20].clicks) == (1, 1, 1)


def test_a_refresh_replaces_the_days_rows_and_a_day_without_searches_has_none(shopper):
    logged_search(shopper, "soap")
    search_rollups_refresh(DAY, DAY + timedelta(days=1))
    logged_search(shopper, "soap")

    search_rollups_refresh(DAY, DAY + timedelta(days=1))

    assert list(SearchQueryDay.objects.values_list("day", "searches")) == [(DAY, 2)]
    assert not SearchPositionDay.objects.filter(day=DAY + timedelta(days=1)).exists()


def test_the_scheduled_refresh_fills_the_search_rollups(shopper):
    logged_search(shopper, "soap", day=timezone.localdate())

    rollups_refresh(full=True)

    assert SearchQueryDay.objects.get().searches == 1


# ----------------------------------------------------------- the dashboard's report


def test_report_sums_the_range_per_query_and_per_day(shopper, product):
    for offset, query in [(0, "soap"), (1, "soap"), (1, "Soap"), (5, "soap")]:
        logged_search(shopper, query, personalized=True, day=DAY + timedelta(days=offset))
    logged_search(shopper, "sope", results=0, shown=(), day=DAY)
    logged_search(shopper, "sope", results=0, shown=(), day=DAY + timedelta(days=2))
    search = logged_search(shopper, "rope", personalized=False, day=DAY + timedelta(days=1))
    result_click(shopper, product, "rope", 4, search=search, day=DAY + timedelta(days=1))
    search_rollups_refresh(DAY, DAY + timedelta(days=5))

    report = search_report(first=DAY, last=DAY + timedelta(days=2))

    assert [(q.query, q.searches) for q in report.top_queries] == [
        ("soap", 3),
        ("sope", 2),
        ("rope", 1),
    ]
    rope = report.top_queries[2]
    assert (rope.click_through_rate, rope.mean_clicked_position) == (1.0, 4.0)
    assert [(q.query, q.zero_result_searches, q.last_day) for q in report.zero_result_queries] == [
        ("sope", 2, DAY + timedelta(days=2))
    ]
    assert (report.totals.searches, report.distinct_queries) == (6, 3)
    assert report.totals.zero_result_rate == pytest.approx(2 / 6)
    assert [d.figures.searches for d in report.days] == [2, 3, 1]
    assert report.totals.personalized.searches == 3
    assert report.totals.lexical.click_through_rate == 1.0
    assert report.totals.personalized.mean_clicked_position is None  # no click: "n/a"
    assert report.positions[3].clicks == 1


def test_report_reads_a_fixed_number_of_queries(shopper):
    for n in range(20):
        logged_search(shopper, f"query {n}", day=DAY + timedelta(days=n % 3))
    search_rollups_refresh(DAY, DAY + timedelta(days=3))

    with CaptureQueriesContext(connection) as queries:
        search_report(first=DAY, last=DAY + timedelta(days=30))

    assert len(queries) == 5  # totals, top, zero-result, per day, per position
