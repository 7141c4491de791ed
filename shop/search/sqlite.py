"""The total, facets and re-rank window of a query on SQLite (and other databases)."""

from __future__ import annotations

from django.db.models import QuerySet

from shop.search.facets import facets_by_sql, facets_from_rows
from shop.search.retrieval import RELEVANCE_ORDER, RERANK_WINDOW, scored_rows

# Up to this many matches, one query fetches them all for the total, facets and window.
MATCH_LIMIT = 20_000


def matches_sqlite(base: QuerySet, terms: list[str]):
    """(total, facets, window) of a filtered queryset.

    One pass over the matches in text order gives the total, the facets and the window
    (one text evaluation instead of four); very broad queries use SQL counts.
    """
    rows = list(scored_rows(base, terms).order_by(*RELEVANCE_ORDER)[: MATCH_LIMIT + 1])
    if len(rows) <= MATCH_LIMIT:
        total, facets = len(rows), facets_from_rows(rows)
    else:
        total, facets = base.count(), facets_by_sql(base)
    window = [
        (pk, float(score), stock, pop, brand)
        for pk, score, stock, _, brand, pop in rows[:RERANK_WINDOW]
    ]
    return total, facets, window
