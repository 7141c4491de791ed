"""Search analytics straight from the event log, for a window of days up to now (the
staff API's figures): top queries, zero-result queries, click-through by position.

Read from the event log as the storefront and the app write it:
- a ``search`` event per page 1 of a query (shop.search.service.search_and_log) with
  ``context = {"results": total, "shown": [product ids on the page], ...}``;
- a ``click`` event per result opened, with the ``query`` and its 1-based ``position``
  in the list (the storefront's result links, or the app's event batch).

Every figure is aggregated by the database (GROUP BY over the window's events, which
``event_time_idx`` bounds); Python only joins a few dozen grouped rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Least, Lower
from django.utils import timezone

from shop.analytics.expressions import ShownCount
from shop.models import Event, EventType

# Click-through is reported for the first page of results (the default page size).
MAX_POSITION = 20


@dataclass(frozen=True)
class QueryStats:
    query: str  # lower-cased: "Lipstick" and "lipstick" are one query
    searches: int
    clicks: int
    click_through_rate: float  # clicks per search


@dataclass(frozen=True)
class ZeroResultQuery:
    query: str
    searches: int
    last_searched_at: datetime


@dataclass(frozen=True)
class PositionStats:
    position: int
    impressions: int  # logged searches whose page showed a product at this position
    clicks: int
    click_through_rate: float  # clicks per impression


@dataclass(frozen=True)
class SearchAnalytics:
    since: datetime
    until: datetime
    searches: int
    clicks: int
    top_queries: list[QueryStats]
    zero_result_queries: list[ZeroResultQuery]
    positions: list[PositionStats]


def _rate(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def _window(*, since: datetime, until: datetime) -> QuerySet[Event]:
    return Event.objects.filter(occurred_at__gte=since, occurred_at__lt=until)


def search_analytics(*, days: int, limit: int = 20, now: datetime | None = None) -> SearchAnalytics:
    """The search figures of the last ``days`` days: the ``limit`` most searched
    queries with their clicks, the ``limit`` most searched queries without results,
    and click-through by position 1..MAX_POSITION."""
    until = now or timezone.now()
    since = until - timedelta(days=days)
    events = _window(since=since, until=until)
    searches = events.filter(event_type=EventType.SEARCH).exclude(query="")
    # Clicks from a result list: the storefront's links and the app name the query.
    clicks = events.filter(event_type=EventType.CLICK).exclude(query="")
    totals = events.aggregate(
        searches=Count("pk", filter=Q(event_type=EventType.SEARCH) & ~Q(query="")),
        clicks=Count("pk", filter=Q(event_type=EventType.CLICK) & ~Q(query="")),
    )
    return SearchAnalytics(
        since=since,
        until=until,
        searches=totals["searches"],
        clicks=totals["clicks"],
        top_queries=search_top_queries(searches=searches, clicks=clicks, limit=limit),
        zero_result_queries=search_zero_result_queries(searches=searches, limit=limit),
        positions=search_click_through_by_position(searches=searches, clicks=clicks),
    )


def search_top_queries(
    *, searches: QuerySet[Event], clicks: QuerySet[Event], limit: int
) -> list[QueryStats]:
    """The most searched queries (case folded), with the clicks that named them."""
    top = list(
        searches.annotate(normalized=Lower("query"))
        .values("normalized")
        .annotate(n=Count("pk"))
        .order_by("-n", "normalized")[:limit]
    )
    names = [row["normalized"] for row in top]
    clicked = dict(
        clicks.annotate(normalized=Lower("query"))
        .filter(normalized__in=names)
        .values("normalized")
        .annotate(n=Count("pk"))
        .values_list("normalized", "n")
    )
    return [
        QueryStats(
            query=row["normalized"],
            searches=row["n"],
            clicks=clicked.get(row["normalized"], 0),
            click_through_rate=_rate(clicked.get(row["normalized"], 0), row["n"]),
        )
        for row in top
    ]


def search_zero_result_queries(*, searches: QuerySet[Event], limit: int) -> list[ZeroResultQuery]:
    """The most searched queries whose search found nothing (``context.results == 0``)."""
    rows = (
        searches.filter(context__results=0)
        .annotate(normalized=Lower("query"))
        .values("normalized")
        .annotate(n=Count("pk"), last=Max("occurred_at"))
        .order_by("-n", "normalized")[:limit]
    )
    return [
        ZeroResultQuery(query=row["normalized"], searches=row["n"], last_searched_at=row["last"])
        for row in rows
    ]


def search_click_through_by_position(
    *, searches: QuerySet[Event], clicks: QuerySet[Event]
) -> list[PositionStats]:
    """Per position 1..MAX_POSITION: the searches that showed a product there
    (impressions), the clicks on that position, and their ratio.

    A search showing n products is an impression at positions 1..n: the database counts
    searches per (capped) list length, and the counts are summed from the longest down.
    """
    by_length = dict(
        # Filtered before capping: Postgres' LEAST ignores NULL (a search without a list).
        searches.annotate(shown_count=ShownCount())
        .filter(shown_count__gt=0)
        .annotate(shown=Least("shown_count", MAX_POSITION))
        .values("shown")
        .annotate(n=Count("pk"))
        .values_list("shown", "n")
    )
    clicked = dict(
        clicks.filter(position__gte=1, position__lte=MAX_POSITION)
        .values("position")
        .annotate(n=Count("pk"))
        .values_list("position", "n")
    )
    positions = []
    impressions = 0
    for position in range(MAX_POSITION, 0, -1):
        impressions += by_length.get(position, 0)
        positions.append(
            PositionStats(
                position=position,
                impressions=impressions,
                clicks=clicked.get(position, 0),
                click_through_rate=_rate(clicked.get(position, 0), impressions),
            )
        )
    return positions[::-1]
