"""Search-box completions: brands, categories, then popular matching products."""

from __future__ import annotations

from dataclasses import dataclass

from shop.models import Brand, Category
from shop.search.retrieval import active_matches
from shop.text import MAX_QUERY_LENGTH, query_terms

AUTOCOMPLETE_LIMIT = 8


@dataclass
class Suggestion:
    kind: str  # product, brand, category
    id: int
    label: str


def search_autocomplete(*, prefix: str, limit: int = AUTOCOMPLETE_LIMIT) -> list[Suggestion]:
    """Completions for a partly typed query: a few brands and categories whose name starts
    with it, then the most popular products matching every word as a prefix."""
    prefix = (prefix or "").strip()[:MAX_QUERY_LENGTH]
    terms = query_terms(prefix)
    if not terms:
        return []
    limit = max(1, min(limit, 20))
    out: list[Suggestion] = []
    for pk, name in Brand.objects.filter(name__istartswith=prefix).values_list("pk", "name")[:2]:
        out.append(Suggestion("brand", pk, name))
    for pk, name in Category.objects.filter(name__istartswith=prefix).values_list("pk", "path")[:2]:
        out.append(Suggestion("category", pk, name))
    products = active_matches(terms).order_by("-popularity", "pk")
    for pk, title in products.values_list("pk", "title")[: max(limit - len(out), 1)]:
        out.append(Suggestion("product", pk, title))
    return out[:limit]
