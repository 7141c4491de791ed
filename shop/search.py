"""Site search: lexical retrieval, filters, facets, sort, pagination, personalized order.

One service behind the storefront page and the API. Retrieval, filters and facets are
the shop's; the personalized ordering of the top candidates comes from the configured
personalizer (shop.personalization), so the recommender can re-rank without the shop
importing it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce

from shop.models import Brand, Category, Product
from shop.personalization import ScoredItem, Shopper, get_personalizer

MAX_QUERY_LENGTH = 500
MAX_TERMS = 8
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 24
# How many lexical candidates the personalizer re-orders; deeper pages keep text order.
RERANK_WINDOW = 200
FACET_LIMIT = 20
CENT = Decimal("0.01")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popular")
# Text relevance weights: a term in the title counts more than in the brand or category.
TITLE_WEIGHT, BRAND_WEIGHT, CATEGORY_WEIGHT = 3, 2, 1

_TERM_RE = re.compile(r"\w+", re.UNICODE)


class SearchInputError(ValueError):
    """A search parameter is invalid; ``field`` names it for a 400 response."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    category_id: int | None = None
    brand_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> SearchParams:
        """Parse request parameters; raises SearchInputError naming the bad field."""
        query = (data.get("q") or "").strip()
        if len(query) > MAX_QUERY_LENGTH:
            raise SearchInputError("q", f"the query is longer than {MAX_QUERY_LENGTH} characters")
        if "\x00" in query:
            raise SearchInputError("q", "the query contains a NUL character")
        sort = data.get("sort") or "relevance"
        if sort not in SORTS:
            raise SearchInputError("sort", f"must be one of {', '.join(SORTS)}")
        price_min = _decimal(data, "price_min")
        price_max = _decimal(data, "price_max")
        if price_min is not None and price_max is not None and price_min > price_max:
            raise SearchInputError("price_max", "must not be below price_min")
        # Prices are stored in cents: round the bounds inwards to cents (same matches),
        # so an exponent such as 1e-100000 never reaches the database (Postgres overflows).
        if price_min is not None:
            price_min = price_min.quantize(CENT, rounding=ROUND_CEILING)
        if price_max is not None:
            price_max = price_max.quantize(CENT, rounding=ROUND_FLOOR)
        return cls(
            query=query,
            category_id=_positive_int(data, "category"),
            brand_id=_positive_int(data, "brand"),
            price_min=price_min,
            price_max=price_max,
            in_stock=(data.get("in_stock") or "").lower() in ("1", "true", "on", "yes"),
            sort=sort,
            page=_positive_int(data, "page") or 1,
            page_size=min(_positive_int(data, "page_size") or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        )

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(t.lower() for t in _TERM_RE.findall(self.query)))[:MAX_TERMS]


def _positive_int(data: Mapping[str, str], name: str) -> int | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SearchInputError(name, f"must be a whole number, got {str(raw)[:40]!r}") from None
    if value < 1:
        raise SearchInputError(name, "must be 1 or more")
    if value > 2**31:
        raise SearchInputError(name, "is too large")
    return value


def _decimal(data: Mapping[str, str], name: str) -> Decimal | None:
    raw = data.get(name)
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise SearchInputError(name, f"must be a number, got {str(raw)[:40]!r}") from None
    if not value.is_finite() or value < 0 or value > Decimal("1e10"):
        raise SearchInputError(name, "must be a number between 0 and 10000000000")
    return value


@dataclass
class FacetValue:
    id: int
    name: str
    count: int


@dataclass
class SearchHit:
    product: Product
    score: float
    reason: str = ""
    components: Mapping[str, float] = field(default_factory=dict)


@dataclass
class SearchResult:
    params: SearchParams
    hits: list[SearchHit]
    total: int
    page: int
    num_pages: int
    facets: dict[str, list[FacetValue]]
    personalized: bool = False

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _filtered_queryset(params: SearchParams):
    qs = Product.objects.filter(is_active=True)
    for term in params.terms:
        qs = qs.filter(
            Q(title__icontains=term)
            | Q(brand__name__icontains=term)
            | Q(category__path__icontains=term)
        )
    if params.category_id is not None:
        category = Category.objects.filter(pk=params.category_id).first()
        if category is None:
            raise SearchInputError("category", f"no category with id {params.category_id}")
        qs = qs.filter(category_id__in=category.descendant_ids())
    if params.brand_id is not None:
        if not Brand.objects.filter(pk=params.brand_id).exists():
            raise SearchInputError("brand", f"no brand with id {params.brand_id}")
        qs = qs.filter(brand_id=params.brand_id)
    if params.price_min is not None:
        qs = qs.filter(price__gte=params.price_min)
    if params.price_max is not None:
        qs = qs.filter(price__lte=params.price_max)
    if params.in_stock:
        qs = qs.filter(stock__gt=0)
    return qs


def _text_score(terms: list[str]):
    if not terms:
        return Value(0, output_field=IntegerField())
    parts = []
    for term in terms:
        parts.append(Case(When(title__icontains=term, then=Value(TITLE_WEIGHT)), default=Value(0)))
        parts.append(
            Case(When(brand__name__icontains=term, then=Value(BRAND_WEIGHT)), default=Value(0))
        )
        parts.append(
            Case(
                When(category__path__icontains=term, then=Value(CATEGORY_WEIGHT)), default=Value(0)
            )
        )
    return sum(parts[1:], parts[0])


def _facets(qs) -> dict[str, list[FacetValue]]:
    categories = (
        qs.filter(category__isnull=False)
        .values("category", "category__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "category__name")[:FACET_LIMIT]
    )
    brands = (
        qs.filter(brand__isnull=False)
        .values("brand", "brand__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "brand__name")[:FACET_LIMIT]
    )
    return {
        "category": [FacetValue(r["category"], r["category__name"], r["n"]) for r in categories],
        "brand": [FacetValue(r["brand"], r["brand__name"], r["n"]) for r in brands],
    }


def search_products(*, params: SearchParams, shopper: Shopper) -> SearchResult:
    """Run a search. Raises SearchInputError for unknown facet values."""
    terms = params.terms
    base = _filtered_queryset(params)
    total = base.count()
    num_pages = max(1, math.ceil(total / params.page_size))
    page = min(params.page, num_pages)  # an absurd page number shows the last page
    start = (page - 1) * params.page_size
    end = start + params.page_size

    scored = base.annotate(text_score=_text_score(terms))
    order = {
        "relevance": ["-text_score", "-popularity", "pk"],
        "price_asc": [Coalesce("price", Value(Decimal("1e12"))).asc(), "pk"],
        "price_desc": [Coalesce("price", Value(Decimal("-1"))).desc(), "pk"],
        "newest": ["-created_at", "pk"],
        "popular": ["-popularity", "pk"],
    }[params.sort]
    scored = scored.order_by(*order)

    personalized = False
    if params.sort == "relevance" and start < RERANK_WINDOW and total:
        window = list(scored.values_list("pk", "text_score")[:RERANK_WINDOW])
        top = max((s for _, s in window), default=0) or 1
        candidates = [
            ScoredItem(product_id=pk, score=s / top, components={"text": s / top})
            for pk, s in window
        ]
        ranked = get_personalizer().rank_search(
            shopper=shopper, query=params.query, candidates=candidates
        )
        # Only the candidates, each once: a plugged-in personalizer cannot add products
        # that the query and filters exclude.
        allowed = {c.product_id for c in candidates}
        kept = []
        for item in ranked:
            if item.product_id in allowed:
                allowed.discard(item.product_id)
                kept.append(item)
        ranked = kept
        personalized = True
        page_items = ranked[start:end]
        if len(page_items) < params.page_size and end > len(ranked):
            # The page runs past the re-ranked window: continue in text order.
            tail = list(scored.values_list("pk", "text_score")[max(start, len(ranked)) : end])
            page_items += [ScoredItem(product_id=pk, score=s / top) for pk, s in tail]
    else:
        page_items = [
            ScoredItem(product_id=pk, score=float(s))
            for pk, s in scored.values_list("pk", "text_score")[start:end]
        ]

    by_id = Product.objects.select_related("category", "brand").in_bulk(
        [i.product_id for i in page_items]
    )
    hits = [
        SearchHit(
            product=by_id[i.product_id], score=i.score, reason=i.reason, components=i.components
        )
        for i in page_items
        if i.product_id in by_id
    ]
    return SearchResult(
        params=params,
        hits=hits,
        total=total,
        page=page,
        num_pages=num_pages,
        facets=_facets(base),
        personalized=personalized,
    )
