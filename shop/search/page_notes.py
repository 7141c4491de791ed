"""What the results page says around its results: the filters set (each with the link
that drops it), why a filtered search found nothing (the filters whose removal alone
would find products), and how many results a price sort lists last for lacking a price."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.http import QueryDict

from shop.models import Brand, Category
from shop.search.params import SearchParams
from shop.search.retrieval import filtered_queryset
from shop.search.service import SearchResult

# The search page's filters: (name, their request parameters, SearchParams without them).
FILTERS = (
    ("category", ("category",), {"category_id": None}),
    ("brand", ("brand",), {"brand_id": None}),
    ("price", ("price_min", "price_max"), {"price_min": None, "price_max": None}),
    ("in_stock", ("in_stock",), {"in_stock": False}),
)


def active_filters(query: QueryDict, params: SearchParams) -> list[dict]:
    """The filters set: each with a label, the link that drops it, and the parameters
    without it."""
    labels = {
        "category": f"category “{_name_of(Category, params.category_id)}”",
        "brand": f"brand “{_name_of(Brand, params.brand_id)}”",
        "price": _price_label(params),
        "in_stock": "in stock only",
    }
    active = []
    for name, keys, cleared in FILTERS:
        if any(query.get(key) for key in keys):
            link = "?" + querystring_without(query, ("page", *keys))
            active.append({"label": labels[name], "link": link, "without": cleared})
    return active


def empty_state(result: SearchResult, active_filters: list[dict]) -> dict | None:
    """For filters that left nothing: whether the query alone finds products, and the
    filters whose removal alone would (``removes``); None when there are results or
    no filters."""
    if result.total or not active_filters:
        return None
    params = result.params
    if not filtered_queryset(SearchParams(query=params.query)).exists():
        return None
    removes = [
        f for f in active_filters if filtered_queryset(replace(params, **f["without"])).exists()
    ]
    return {
        "removes": removes,
        "clear_all": "?" + urlencode({"q": params.query, "sort": params.sort}),
    }


def _price_label(params: SearchParams) -> str:
    if params.price_min is not None and params.price_max is not None:
        return f"price {params.price_min}–{params.price_max}"
    if params.price_min is not None:
        return f"price from {params.price_min}"
    return f"price up to {params.price_max}"


def _name_of(model, pk: int | None) -> str:
    if pk is None:
        return ""
    return model.objects.filter(pk=pk).values_list("name", flat=True).first() or ""


def unpriced_count(result: SearchResult) -> int:
    """For a price sort: how many of the results have no price (listed last)."""
    if result.params.sort not in ("price_asc", "price_desc") or not result.total:
        return 0
    return filtered_queryset(result.params).filter(price__isnull=True).count()


def querystring_without(query: QueryDict, drop: tuple[str, ...]) -> str:
    """The query string without the ``drop`` parameters (the page's links keep the rest)."""
    kept = query.copy()
    for key in drop:
        kept.pop(key, None)
    return kept.urlencode()
