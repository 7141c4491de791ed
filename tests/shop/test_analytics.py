"""Search analytics: top queries with clicks, zero-result queries, click-through by
position, over a window of days, aggregated by the database."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.analytics import MAX_POSITION, search_analytics
from shop.models import EventType
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
