"""The total, facets and re-rank window of a query in one Postgres statement."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import QuerySet

from shop.models import Brand, Category
from shop.search.facets import FACET_LIMIT, FacetValue, facets_sorted
from shop.search.retrieval import RERANK_WINDOW, scored_rows

# The facet part of the statement: (kind, relation column, table).
_FACET_SOURCES = (
    ("c", "category_id", Category._meta.db_table),
    ("b", "brand_id", Brand._meta.db_table),
)


def matches_postgres(base: QuerySet, terms: list[str]):
    """(total, facets, window) of a filtered queryset in one statement.

    The matches are ranked once (a materialized CTE); Postgres keeps the best
    RERANK_WINDOW with a top-N sort and counts the facets itself, so only ~350 rows
    come back however many products match. The planner is kept off a sequential scan
    when there are terms: it prices ``@@`` too low, and for a one-word query matching
    ~10% of the catalogue the GIN index's bitmap scan is about twice as fast as the
    sequential scan it would pick (EXPLAIN ANALYZE, bench.search_load catalogue).
    """
    sql, sql_params = scored_rows(base, terms).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if terms:
            cursor.execute("SET LOCAL enable_seqscan TO off")
        cursor.execute(_statement(sql), sql_params)
        rows = cursor.fetchall()
    return _read(rows)


def _statement(matches_sql: str) -> str:
    facet_parts = [
        f"(SELECT '{kind}', g.id, NULL::float8, g.n, NULL::float8, NULL::bigint, x.name"
        f" FROM (SELECT {column} AS id, count(*) AS n FROM m"
        f" WHERE {column} IS NOT NULL GROUP BY 1) g"
        f" JOIN {table} x ON x.id = g.id ORDER BY g.n DESC, x.name LIMIT {FACET_LIMIT})"
        for kind, column, table in _FACET_SOURCES
    ]
    return (
        "WITH m (id, score, stock, category_id, brand_id, popularity) AS MATERIALIZED "
        f"({matches_sql}) "
        "(SELECT 'w', id, score::float8, stock::bigint, popularity::float8, brand_id::bigint,"
        " NULL::text FROM m"
        f" ORDER BY score DESC, popularity DESC, id LIMIT {RERANK_WINDOW})"
        " UNION ALL SELECT 't', count(*), NULL, NULL, NULL, NULL, NULL FROM m"
        " UNION ALL " + " UNION ALL ".join(facet_parts)
    )


def _read(rows) -> tuple[int, dict[str, list[FacetValue]], list]:
    """The statement's rows as (total, facets, window in text order)."""
    total, window = 0, []
    facets: dict[str, list[FacetValue]] = {"category": [], "brand": []}
    for kind, pk, score, number, popularity, brand_id, name in rows:
        if kind == "w":
            window.append((pk, float(score), number, popularity, brand_id))
        elif kind == "t":
            total = pk
        else:
            facets["category" if kind == "c" else "brand"].append(FacetValue(pk, name, number))
    window.sort(key=lambda row: (-row[1], -row[3], row[0]))
    facets_sorted(facets)
    return total, facets, window
