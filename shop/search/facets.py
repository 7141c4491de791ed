"""Facets: how many matches each category and brand holds (the most common first)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from shop.models import Brand, Category

FACET_LIMIT = 20


@dataclass(frozen=True)  # shared by every search that reads the same cached matches
class FacetValue:
    id: int
    name: str
    count: int


def facets_by_sql(qs: QuerySet) -> dict[str, list[FacetValue]]:
    """Facets of a queryset of matches, counted by the database."""
    return {
        "category": _counted(qs, "category"),
        "brand": _counted(qs, "brand"),
    }


def _counted(qs: QuerySet, relation: str) -> list[FacetValue]:
    rows = (
        qs.filter(**{f"{relation}__isnull": False})
        .values(relation, f"{relation}__name")
        .annotate(n=Count("pk"))
        .order_by("-n", f"{relation}__name")[:FACET_LIMIT]
    )
    return [FacetValue(r[relation], r[f"{relation}__name"], r["n"]) for r in rows]


def facets_from_rows(rows) -> dict[str, list[FacetValue]]:
    """Facets from (pk, score, stock, category_id, brand_id, ...) rows: as ``facets_by_sql``."""
    out = {}
    for name, column, model in (("category", 3, Category), ("brand", 4, Brand)):
        counts = Counter(row[column] for row in rows if row[column] is not None)
        names = dict(model.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
        ordered = sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], "")))
        out[name] = [FacetValue(pk, names.get(pk, ""), n) for pk, n in ordered[:FACET_LIMIT]]
    return out


def facets_sorted(facets: dict[str, list[FacetValue]]) -> None:
    """Sort each facet list in place: most matches first, then by name."""
    for values in facets.values():
        values.sort(key=lambda f: (-f.count, f.name))
