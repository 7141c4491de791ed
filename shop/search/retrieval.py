"""Lexical retrieval: which active products match the terms (with staff synonyms) and
filters, and their text score. Postgres uses the stored full-text vector; SQLite a
substring fallback."""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from shop.models import Brand, Category, Product
from shop.search.params import SearchInputError, SearchParams
from shop.search.synonyms import TermGroup, group_words, term_groups

# How many lexical candidates the personalizer re-orders; deeper pages keep text order.
# bench.search_quality (amazon_scientific, validation targets): 200 candidates hold the
# target for 95.4% of queries, personalized MRR 0.4282; 300 hold 99.2%, MRR 0.4308.
RERANK_WINDOW = 300
# Text relevance weights (SQLite): a term in the title counts more than in the brand
# or category.
TITLE_WEIGHT, BRAND_WEIGHT, CATEGORY_WEIGHT = 3, 2, 1
# Postgres full-text: the stored, weighted shop_product.search_vector (title A, brand B,
# category path C, description D; see migration 0002) against an AND of prefix terms.
TS_CONFIG = "english"
_PG_MATCH = f"shop_product.search_vector @@ to_tsquery('{TS_CONFIG}', %s)"
# ts_rank_cd's default weights {D, C, B, A} = {0.1, 0.2, 0.4, 1.0}; 1 = divide by log length.
_PG_RANK = f"ts_rank_cd(shop_product.search_vector, to_tsquery('{TS_CONFIG}', %s), 1)"
RELEVANCE_ORDER = ("-text_score", "-popularity", "pk")
SORT_ORDERS = {
    "relevance": RELEVANCE_ORDER,
    # Unknown prices last either way (NULLS LAST on Postgres and SQLite 3.30+); the
    # search page says how many.
    "price_asc": (F("price").asc(nulls_last=True), "pk"),
    "price_desc": (F("price").desc(nulls_last=True), "pk"),
    "newest": ("-created_at", "pk"),
    "popular": ("-popularity", "pk"),
}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _tsquery(groups: list[TermGroup]) -> str:
    """Every group, each one of its alternatives, each all of its words as prefixes.
    Words are letters and digits only, so they cannot inject tsquery operators."""

    def either(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    def every(words: tuple[str, ...]) -> str:
        joined = " & ".join(f"{w}:*" for w in words)
        return joined if len(words) == 1 else f"({joined})"

    return " & ".join(either([every(alt) for alt in group]) for group in groups)


def _word_matches(word: str) -> Q:
    return (
        Q(title__icontains=word)
        | Q(brand__name__icontains=word)
        | Q(category__path__icontains=word)
    )


def text_filter(qs: QuerySet, terms: list[str]) -> QuerySet:
    """Products matching every term, or one of its synonyms' alternatives
    (shop.search.synonyms): as a word prefix on Postgres, a substring on SQLite."""
    if not terms:
        return qs
    groups = term_groups(terms)
    if is_postgres():
        return qs.extra(where=[_PG_MATCH], params=[_tsquery(groups)])
    for group in groups:
        either = Q()
        for alternative in group:
            every = Q()
            for word in alternative:
                every &= _word_matches(word)
            either |= every
        qs = qs.filter(either)
    return qs


def text_score(terms: list[str]):
    """The text relevance of a product for the terms (synonyms applied), as a query
    expression."""
    if not terms:
        return Value(0, output_field=IntegerField())
    groups = term_groups(terms)
    if is_postgres():
        return RawSQL(_PG_RANK, [_tsquery(groups)], output_field=FloatField())
    parts = []
    for term in group_words(groups):
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


def active_matches(terms: list[str]) -> QuerySet:
    """Active products matching every term."""
    return text_filter(Product.objects.filter(is_active=True), terms)


def filtered_queryset(params: SearchParams, *, banned: set[int] = frozenset()) -> QuerySet:
    """The products the query and its filters match, less the banned ones. Raises
    SearchInputError for a category or brand that does not exist."""
    qs = active_matches(params.terms)
    if banned:
        qs = qs.exclude(pk__in=banned)
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


def scored_rows(base: QuerySet, terms: list[str]) -> QuerySet:
    """(pk, text score, stock, category id, brand id, popularity) of each match, unordered."""
    return (
        base.annotate(text_score=text_score(terms))
        .order_by()
        .values_list("pk", "text_score", "stock", "category_id", "brand_id", "popularity")
    )


def sorted_page(params: SearchParams, *, banned: set[int], start: int, end: int) -> list:
    """(pk, text score) of the matches from ``start`` to ``end`` in the requested order,
    from the database (pages past the re-ranked window, and the other sorts)."""
    base = filtered_queryset(params, banned=banned)
    ordered = base.annotate(text_score=text_score(params.terms)).order_by(*SORT_ORDERS[params.sort])
    return list(ordered.values_list("pk", "text_score")[start:end])
