"""Search analytics for staff.

- ``log``: figures straight from the event log for a window up to now (the staff API).
- ``rollup``: the per-day search rollups (shop.models.searching), registered with
  ``shop.rollups`` as "search_queries" and refreshed by its Celery task.
- ``report``: the search dashboard's figures over a range of days, from the rollups.
- ``expressions``: what they read from an event's context JSON, on both databases.
"""

from shop.analytics import rollup  # noqa: F401  (registers the rollup)
from shop.analytics.log import (
    MAX_POSITION,
    PositionStats,
    QueryStats,
    SearchAnalytics,
    ZeroResultQuery,
    search_analytics,
    search_click_through_by_position,
    search_top_queries,
    search_zero_result_queries,
)

__all__ = [
    "MAX_POSITION",
    "PositionStats",
    "QueryStats",
    "SearchAnalytics",
    "ZeroResultQuery",
    "search_analytics",
    "search_click_through_by_position",
    "search_top_queries",
    "search_zero_result_queries",
]
