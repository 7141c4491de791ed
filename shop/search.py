"""Site search: lexical retrieval, filters, facets, sort, pagination, personalized order.

One service behind the storefront page and the API. Retrieval, filters and facets are
the shop's; the personalized ordering of the top candidates comes from the configured
personalizer (shop.personalization), so the recommender can re-rank without the shop
importing it.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from difflib import SequenceMatcher, get_close_matches
from types import MappingProxyType

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, FloatField, IntegerField, Q, Value, When
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.signals import post_init, pre_init

from shop.caching import cache_add, cache_get, cache_incr, cache_set
from shop.models import Brand, Category, Product, SearchRule, SearchRuleAction
from shop.personalization import (
    RankedSearch,
    ScoredItem,
    SearchCandidates,
    Shopper,
    get_personalizer,
)

MAX_QUERY_LENGTH = 500
MAX_TERMS = 16
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 24
# How many lexical candidates the personalizer re-orders; deeper pages keep text order.
# bench.search_quality (amazon_scientific, validation targets): 200 candidates hold the
# target for 95.4% of queries, personalized MRR 0.4282; 300 hold 99.2%, MRR 0.4308.
RERANK_WINDOW = 300
# Up to this many matches, one query fetches them all for the total, facets and window.
MATCH_LIMIT = 20_000
FACET_LIMIT = 20
CENT = Decimal("0.01")
SORTS = ("relevance", "price_asc", "price_desc", "newest", "popular")
# Text relevance weights: a term in the title counts more than in the brand or category.
TITLE_WEIGHT, BRAND_WEIGHT, CATEGORY_WEIGHT = 3, 2, 1

# Letters and digits; "_" splits words as Postgres' parser does.
_TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)
# Postgres full-text: the stored, weighted shop_product.search_vector (title A, brand B,
# category path C, description D; see migration 0002) against an AND of prefix terms.
TS_CONFIG = "english"
_PG_MATCH = f"shop_product.search_vector @@ to_tsquery('{TS_CONFIG}', %s)"
# ts_rank_cd's default weights {D, C, B, A} = {0.1, 0.2, 0.4, 1.0}; 1 = divide by log length.
_PG_RANK = f"ts_rank_cd(shop_product.search_vector, to_tsquery('{TS_CONFIG}', %s), 1)"
# "Did you mean": a word at least this similar (difflib ratio) replaces an unknown term.
SUGGEST_CUTOFF = 0.7
SUGGEST_MIN_LENGTH = 3
# pg_trgm word similarity that picks the titles to draw a suggestion's words from.
TRIGRAM_THRESHOLD = 0.4
AUTOCOMPLETE_LIMIT = 8
VOCABULARY_CACHE_SECONDS = 600
# Lexical results (total, facets, the re-rank window, the query's rules) are cached per
# query and filters for settings.SEARCH_CACHE_SECONDS. Saving a product, category, brand
# or rule starts a new generation (shop.receivers).
SEARCH_GENERATION_KEY = "shop:search:generation"


def normalize_query(query: str) -> str:
    """Lower-case words joined by single spaces: the key of staff search rules."""
    return " ".join(t.lower() for t in _TERM_RE.findall(query or ""))[:MAX_QUERY_LENGTH]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _tsquery(terms: list[str]) -> str:
    # Terms are letters and digits only, so they cannot inject tsquery operators.
    return " & ".join(f"{t}:*" for t in terms)


def _text_filter(qs, terms: list[str]):
    """Products matching every term (as a word prefix on Postgres, a substring on SQLite)."""
    if not terms:
        return qs
    if _postgres():
        return qs.extra(where=[_PG_MATCH], params=[_tsquery(terms)])
    for term in terms:
        qs = qs.filter(
            Q(title__icontains=term)
            | Q(brand__name__icontains=term)
            | Q(category__path__icontains=term)
        )
    return qs


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

    def with_query(self, query: str) -> SearchParams:
        return SearchParams(**{**self.__dict__, "query": query})

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


@dataclass(frozen=True)  # shared by every search that reads the same cached matches
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
    facets: Mapping[str, Sequence[FacetValue]]
    personalized: bool = False
    # For a query without results: a spelling that has some ("did you mean").
    did_you_mean: str = ""
    # Set when the results shown are those of ``did_you_mean`` (typo tolerance).
    corrected_query: str = ""

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _filtered_queryset(params: SearchParams, *, banned: set[int] = frozenset()):
    qs = _text_filter(Product.objects.filter(is_active=True), params.terms)
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


def _text_score(terms: list[str]):
    if not terms:
        return Value(0, output_field=IntegerField())
    if _postgres():
        return RawSQL(_PG_RANK, [_tsquery(terms)], output_field=FloatField())
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


@dataclass(frozen=True)
class SearchRules:
    """The active staff rules for one query."""

    pins: dict[int, float] = field(default_factory=dict)
    boosts: dict[int, float] = field(default_factory=dict)
    bans: set[int] = field(default_factory=set)


def search_rules_for_query(*, query: str) -> SearchRules:
    key = normalize_query(query)
    rules = SearchRules()
    if not key:
        return rules
    for product_id, action, weight in SearchRule.objects.filter(
        query=key, is_active=True
    ).values_list("product_id", "action", "weight"):
        if action == SearchRuleAction.PIN:
            rules.pins[product_id] = weight
        elif action == SearchRuleAction.BOOST:
            rules.boosts[product_id] = weight
        elif action == SearchRuleAction.BAN:
            rules.bans.add(product_id)
    return rules


def _apply_rules(
    ranked: RankedSearch, positions: list[int], *, rules: SearchRules, in_stock: dict[int, bool]
) -> list[tuple[int, float, float]]:
    """Business rules over the personalized order (``positions`` in ``ranked``): staff
    pins first (highest weight first), then products in stock before those out of
    stock. Within a group the personalizer's order stands; a boost adds its weight to
    the personalizer's score, and when the query has boosts the group is ordered by
    that boosted score.

    Returns (position in ``ranked``, boost, rules component) in the final order; only
    the page shown is turned into ScoredItems (``_ruled``), not the whole window.
    """
    ids, scores = ranked.product_ids, ranked.scores
    boosted = any(ids[p] in rules.boosts for p in positions)
    if not rules.pins and not boosted:
        # No rule touches these candidates: in stock first, order kept otherwise.
        return [(p, 0.0, 0.0) for p in positions if in_stock.get(ids[p], True)] + [
            (p, 0.0, 0.0) for p in positions if not in_stock.get(ids[p], True)
        ]
    out = []
    for order, p in enumerate(positions):
        product_id = ids[p]
        boost = rules.boosts.get(product_id, 0.0)
        value = boost + (PIN_COMPONENT if product_id in rules.pins else 0.0)
        out.append(
            (
                product_id not in rules.pins,
                -rules.pins.get(product_id, 0.0),
                not in_stock.get(product_id, True),
                -(scores[p] + boost) if boosted else 0.0,
                order,
                (p, boost, value),
            )
        )
    out.sort(key=lambda row: row[:5])
    return [row[5] for row in out]


def _ruled(item: ScoredItem, boost: float, value: float) -> ScoredItem:
    """The item as shown: its boosted score and its components plus "rules" (a view,
    no copy)."""
    return ScoredItem(
        product_id=item.product_id,
        score=item.score + boost,
        reason=item.reason,
        components=_WithRules(item.components, value),
    )


# The "rules" component a pin shows in explain mode (a pin outranks any score).
PIN_COMPONENT = 1000.0


class _WithRules(Mapping):
    """A candidate's score components with the "rules" one added (a read-only view)."""

    __slots__ = ("base", "rules")

    def __init__(self, base: Mapping[str, float], rules: float) -> None:
        self.base, self.rules = base, rules

    def __getitem__(self, key: str) -> float:
        return self.rules if key == "rules" else self.base[key]

    def __iter__(self):
        yield from (k for k in self.base if k != "rules")
        yield "rules"

    def __len__(self) -> int:
        return len(self.base) + ("rules" not in self.base)

    def items(self):
        yield from ((k, v) for k, v in self.base.items() if k != "rules")
        yield "rules", self.rules


def search_cache_invalidate() -> None:
    """Start a new generation of cached search results (the catalogue or rules changed)."""
    if cache_incr(SEARCH_GENERATION_KEY) is None:
        # No generation yet (or evicted): any new value will do.
        cache_set(SEARCH_GENERATION_KEY, _new_generation(), None)
    # After the new generation exists: a search in another thread of this process that
    # read the old one in between does not keep it.
    _generation_seen[:] = [None, 0.0]
    _local_matches.clear()


def _new_generation() -> int:
    return int.from_bytes(hashlib.sha1(str(uuid.uuid4()).encode()).digest()[:6], "big")


# A process re-reads the shared generation at most once per this many seconds: a save
# in the same process shows at once, one in another process within this delay. Saves a
# cache round trip per search (under load every round trip waits for a free core).
GENERATION_REFRESH_SECONDS = 1.0
# (generation, time.monotonic() when read) of this process.
_generation_seen: list = [None, 0.0]


def _search_generation() -> int:
    generation, read_at = _generation_seen
    now = time.monotonic()
    if generation is not None and now - read_at < GENERATION_REFRESH_SECONDS:
        return generation
    generation = cache_get(SEARCH_GENERATION_KEY)
    if generation is None:
        cache_add(SEARCH_GENERATION_KEY, _new_generation(), None)
        generation = cache_get(SEARCH_GENERATION_KEY) or 0
    _generation_seen[:] = [generation, now]
    return generation


# Part of the cache key: a new format of _Matches never reads an older one.
MATCHES_FORMAT = 3


@dataclass(frozen=True)
class _Matches:
    """What a query and its filters match, independent of sort and page. Read-only: a
    process shares one instance between the searches that read it (``_LocalMatches``)."""

    rules: SearchRules
    total: int
    facets: dict[str, tuple[FacetValue, ...]]
    # The best RERANK_WINDOW matches in text order: (pk, text score, stock, popularity).
    window: list[tuple[int, float, int, int]]
    # What result lists show of each window product, so that a page of the window needs
    # no query: {pk: pickled row of ``_card_rows``}. Only the page's rows are unpickled
    # (24 of 300: reading the whole entry from the cache took 0.20 ms with the rows as
    # tuples, 0.08 ms as bytes), and bytes are the most compact form to keep in memory.
    cards: dict[int, bytes] = field(default_factory=dict)

    def ranking_input(self) -> tuple[SearchCandidates, dict[int, bool], float]:
        """(the window as personalizer candidates, in stock by product, best text score):
        derived once per instance (a process's cached matches serve many searches) and
        never pickled."""
        derived = self.__dict__.get("_ranking_input")
        if derived is None:
            top = max((s for _, s, _, _ in self.window), default=0.0) or 1.0
            # The score is the normalised text relevance (personalizers read it as "text").
            candidates = SearchCandidates(
                tuple(pk for pk, _, _, _ in self.window),
                tuple(s / top for _, s, _, _ in self.window),
                tuple(popularity for _, _, _, popularity in self.window),
            )
            in_stock = {pk: stock > 0 for pk, _, stock, _ in self.window}
            derived = self.__dict__["_ranking_input"] = (candidates, in_stock, top)
        return derived

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_ranking_input", None)
        return state

    def approximate_size(self) -> int:
        """Bytes this entry holds, roughly (for the per-process budget): ~120 per window
        row, ~150 more per row once ``ranking_input`` has been derived, each card's
        pickled bytes plus their object and dict slot, and the facets and rules."""
        facets = sum(len(values) for values in self.facets.values())
        return (
            4096
            + 270 * len(self.window)
            + 200 * facets
            + sum(len(card) + 100 for card in self.cards.values())
        )


class _LocalMatches:
    """A second cache level in front of the shared one: each process keeps the matches
    it used last, up to ``settings.SEARCH_LOCAL_CACHE_BYTES`` of them (least recently
    used out first) and each for ``settings.SEARCH_LOCAL_CACHE_SECONDS``.

    A hit saves the shared cache's round trip and unpickling the entry (~0.4 ms of a
    search's CPU). Entries are keyed like the shared cache, generation included, and a
    new generation empties this level, so saves show here as soon as the process sees
    the new generation (``GENERATION_REFRESH_SECONDS``); bulk updates that send no signal
    show after both levels' lifetimes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, int, _Matches]] = OrderedDict()
        self._bytes = 0
        self._generation: int | None = None

    def get(self, key: str, generation: int) -> _Matches | None:
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                self._reset(generation)
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, size, found = entry
            if expires <= now:
                del self._entries[key]
                self._bytes -= size
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: str, generation: int, found: _Matches) -> None:
        budget = getattr(settings, "SEARCH_LOCAL_CACHE_BYTES", 32 * 2**20)
        size = found.approximate_size()
        if size > budget:  # also: a budget of 0 turns this level off
            return
        expires = time.monotonic() + getattr(settings, "SEARCH_LOCAL_CACHE_SECONDS", 60)
        with self._lock:
            if generation != self._generation:
                self._reset(generation)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (expires, size, found)
            self._bytes += size
            while self._bytes > budget:
                _, (_, evicted, _) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def _reset(self, generation: int | None) -> None:
        self._entries.clear()
        self._bytes = 0
        self._generation = generation

    def __len__(self) -> int:
        return len(self._entries)


_local_matches = _LocalMatches()


def _matches(params: SearchParams, generation: int) -> _Matches:
    """Total, facets and re-rank window of a query, from the caches when they have them
    (this process's, then the shared one).

    The key holds the query's terms and every filter, never the shopper: the cached
    part is the same for everyone, the personal order is computed per request.
    """
    key_source = repr(
        (
            params.terms,
            normalize_query(params.query),
            params.category_id,
            params.brand_id,
            params.price_min,
            params.price_max,
            params.in_stock,
            connection.vendor,
            MATCHES_FORMAT,
        )
    )
    key = f"shop:search:{generation}:{hashlib.sha1(key_source.encode()).hexdigest()}"
    # Generation 0: the shared cache is unreachable, so other processes' saves could not
    # be seen here; the process keeps nothing (as the shared cache keeps nothing then).
    local = _local_matches if generation != 0 else None
    found = local.get(key, generation) if local is not None else None
    if found is not None:
        return found
    cached = cache_get(key)
    if isinstance(cached, _Matches):
        if local is not None:
            local.put(key, generation, cached)
        return cached
    rules = search_rules_for_query(query=params.query)
    base = _filtered_queryset(params, banned=rules.bans)
    if _postgres():
        total, facets, window = _matches_postgres(base, params.terms)
    else:
        # One pass over the matches in text order gives the total, the facets and the
        # window (one text evaluation instead of four); very broad queries use SQL counts.
        rows = list(
            base.annotate(text_score=_text_score(params.terms))
            .order_by(*RELEVANCE_ORDER)
            .values_list("pk", "text_score", "stock", "category_id", "brand_id", "popularity")[
                : MATCH_LIMIT + 1
            ]
        )
        if len(rows) <= MATCH_LIMIT:
            total, facets = len(rows), _facets_from_rows(rows)
        else:
            total, facets = base.count(), _facets(base)
        window = [
            (pk, float(score), stock, pop) for pk, score, stock, _, _, pop in rows[:RERANK_WINDOW]
        ]
    if rules.pins and params.terms:
        total, window = _with_pins(params, rules, total, window)
    cards = _card_rows([row[0] for row in window])
    # Facet lists as tuples: the searches of a process share one instance.
    facets = {kind: tuple(values) for kind, values in facets.items()}
    found = _Matches(rules=rules, total=total, facets=facets, window=window, cards=cards)
    cache_set(key, found, getattr(settings, "SEARCH_CACHE_SECONDS", 60))
    if local is not None:
        local.put(key, generation, found)
    return found


RELEVANCE_ORDER = ("-text_score", "-popularity", "pk")
# What result lists show (storefront cards, API results, explain mode): loading only
# these skips the JSON attributes, timestamps and the categories' tree columns.
HIT_FIELDS = (
    "sku",
    "title",
    "description",
    "price",
    "currency",
    "stock",
    "is_active",
    "image_url",
    "category__name",
    "category__path",
    "brand__name",
)


def _with_pins(params: SearchParams, rules: SearchRules, total: int, window: list):
    """Staff pins show for their query even when their text does not match it (a gift
    card pinned for "christmas"): pinned products outside the window join it, if they
    are active and pass the shopper's filters; those that did not match the text count
    in the total too. ``_apply_rules`` then puts them first."""
    missing = set(rules.pins) - {row[0] for row in window}
    if not missing:
        return total, window
    no_text = SearchParams(**{**params.__dict__, "query": ""})
    pinned = list(
        _filtered_queryset(no_text, banned=rules.bans)
        .filter(pk__in=missing)
        .values_list("pk", "stock", "popularity")
    )
    matching = set(
        _filtered_queryset(params, banned=rules.bans)
        .filter(pk__in=[pk for pk, _, _ in pinned])
        .values_list("pk", flat=True)
    )
    total += sum(1 for pk, _, _ in pinned if pk not in matching)
    return total, window + [(pk, 0.0, stock, popularity) for pk, stock, popularity in pinned]


def _matches_postgres(base, terms: list[str]):
    """(total, facets, window) of a filtered queryset in one statement.

    The matches are ranked once (a materialized CTE); Postgres keeps the best
    RERANK_WINDOW with a top-N sort and counts the facets itself, so only ~350 rows
    come back however many products match. The planner is kept off a sequential scan
    when there are terms: it prices ``@@`` too low, and for a one-word query that
    matches ~10% of 100,000 products the bitmap scan of the GIN index measured 27 ms
    against 55 ms for the sequential scan it picked (EXPLAIN ANALYZE, bench.search_load
    catalogue).
    """
    inner = (
        base.annotate(text_score=_text_score(terms))
        .order_by()
        .values_list("pk", "text_score", "stock", "category_id", "brand_id", "popularity")
    )
    sql, sql_params = inner.query.sql_with_params()
    facet_parts = []
    for kind, column, table in (
        ("c", "category_id", Category._meta.db_table),
        ("b", "brand_id", Brand._meta.db_table),
    ):
        facet_parts.append(
            f"(SELECT '{kind}', g.id, NULL::float8, g.n, NULL::bigint, x.name"
            f" FROM (SELECT {column} AS id, count(*) AS n FROM m"
            f" WHERE {column} IS NOT NULL GROUP BY 1) g"
            f" JOIN {table} x ON x.id = g.id ORDER BY g.n DESC, x.name LIMIT {FACET_LIMIT})"
        )
    statement = (
        f"WITH m (id, score, stock, category_id, brand_id, popularity) AS MATERIALIZED ({sql}) "
        "(SELECT 'w', id, score::float8, stock::bigint, popularity::bigint, NULL::text FROM m"
        f" ORDER BY score DESC, popularity DESC, id LIMIT {RERANK_WINDOW})"
        " UNION ALL SELECT 't', count(*), NULL, NULL, NULL, NULL FROM m"
        " UNION ALL " + " UNION ALL ".join(facet_parts)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if terms:
            cursor.execute("SET LOCAL enable_seqscan TO off")
        cursor.execute(statement, sql_params)
        rows = cursor.fetchall()
    total, window = 0, []
    facets: dict[str, list[FacetValue]] = {"category": [], "brand": []}
    for kind, pk, score, number, popularity, name in rows:
        if kind == "w":
            window.append((pk, float(score), number, popularity))
        elif kind == "t":
            total = pk
        else:
            facets["category" if kind == "c" else "brand"].append(FacetValue(pk, name, number))
    window.sort(key=lambda row: (-row[1], -row[3], row[0]))
    for values in facets.values():
        values.sort(key=lambda f: (-f.count, f.name))
    return total, facets, window


def _facets_from_rows(rows) -> dict[str, list[FacetValue]]:
    """Facets from (pk, score, stock, category_id, brand_id, ...) rows: as ``_facets``."""
    out = {}
    for name, column, model in (("category", 3, Category), ("brand", 4, Brand)):
        counts = Counter(row[column] for row in rows if row[column] is not None)
        names = dict(model.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
        ordered = sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], "")))
        out[name] = [FacetValue(pk, names.get(pk, ""), n) for pk, n in ordered[:FACET_LIMIT]]
    return out


def search_products(
    *, params: SearchParams, shopper: Shopper, correct_typos: bool = True
) -> SearchResult:
    """Run a search. Raises SearchInputError for unknown facet values.

    A query with no results gets a ``did_you_mean`` spelling built from the catalogue's
    words; when that spelling has results (and ``correct_typos``), they are shown instead,
    with ``corrected_query`` set.
    """
    terms = params.terms
    generation = _search_generation()
    found = _matches(params, generation)
    total = found.total
    if not total and terms and correct_typos:
        suggestion = did_you_mean(terms=terms)
        if suggestion:
            corrected = search_products(
                params=params.with_query(suggestion), shopper=shopper, correct_typos=False
            )
            corrected.params = params
            corrected.did_you_mean = suggestion
            corrected.corrected_query = suggestion if corrected.total else ""
            return corrected
    num_pages = max(1, math.ceil(total / params.page_size))
    page = min(params.page, num_pages)  # an absurd page number shows the last page
    start = (page - 1) * params.page_size
    end = start + params.page_size

    def ordered():
        """The matches in the requested order, from the database (pages past the window)."""
        order = {
            "relevance": RELEVANCE_ORDER,
            "price_asc": [Coalesce("price", Value(Decimal("1e12"))).asc(), "pk"],
            "price_desc": [Coalesce("price", Value(Decimal("-1"))).desc(), "pk"],
            "newest": ["-created_at", "pk"],
            "popular": ["-popularity", "pk"],
        }[params.sort]
        base = _filtered_queryset(params, banned=found.rules.bans)
        return base.annotate(text_score=_text_score(terms)).order_by(*order)

    personalized = False
    if params.sort == "relevance" and start < RERANK_WINDOW and total:
        candidates, in_stock, top = found.ranking_input()
        ranked = get_personalizer().rank_search_columns(
            shopper=shopper, query=params.query, candidates=candidates
        )
        # Only the candidates, each once: a plugged-in personalizer cannot add products
        # that the query and filters exclude.
        allowed = set(candidates.product_ids)
        kept = []
        for position, product_id in enumerate(ranked.product_ids):
            if product_id in allowed:
                allowed.discard(product_id)
                kept.append(position)
        ruled = _apply_rules(ranked, kept, rules=found.rules, in_stock=in_stock)
        personalized = True
        page_items = [
            _ruled(ranked.item(position), boost, value)
            for position, boost, value in ruled[start:end]
        ]
        if len(page_items) < params.page_size and end > len(ruled) and total > len(ruled):
            # The page runs past the re-ranked window: continue in text order.
            tail_start = max(start, len(ruled))
            tail = ordered().values_list("pk", "text_score")[tail_start:end]
            page_items += [ScoredItem(product_id=pk, score=float(s) / top) for pk, s in tail]
    else:
        page_items = [
            ScoredItem(product_id=pk, score=float(s))
            for pk, s in ordered().values_list("pk", "text_score")[start:end]
        ]

    by_id = _products_shown([i.product_id for i in page_items], found.cards)
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
        facets=MappingProxyType(found.facets),  # read-only: shared by this process
        personalized=personalized,
    )


# The product columns a result list shows (``HIT_FIELDS``), in model order, and the
# category's and brand's.
_CARD_PRODUCT_FIELDS = [
    f.attname
    for f in Product._meta.concrete_fields
    if f.primary_key or f.name in HIT_FIELDS or f.name in ("category", "brand")
]
_CARD_CATEGORY_FIELDS = [
    f.attname for f in Category._meta.concrete_fields if f.attname in ("id", "name", "path")
]
_CARD_BRAND_FIELDS = [f.attname for f in Brand._meta.concrete_fields if f.attname in ("id", "name")]
_CARD_CATEGORY, _CARD_BRAND = Product._meta.get_field("category"), Product._meta.get_field("brand")


def _card_rows(ids: list[int]) -> dict[int, bytes]:
    """{pk: pickled (product values, category values or None, brand values or None)}:
    plain tuples, cheap to cache and to read back with the matches."""
    rows = (
        Product.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            *_CARD_PRODUCT_FIELDS,
            *(f"category__{f}" for f in _CARD_CATEGORY_FIELDS),
            *(f"brand__{f}" for f in _CARD_BRAND_FIELDS),
        )
    )
    n, c = len(_CARD_PRODUCT_FIELDS), len(_CARD_CATEGORY_FIELDS)
    return {
        row[0]: pickle.dumps(
            (
                row[:n],
                row[n : n + c] if row[n] is not None else None,
                row[n + c :] if row[n + c] is not None else None,
            ),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        for row in rows
    }


def _products_shown(ids: list[int], cards: dict[int, bytes]) -> dict[int, Product]:
    """The products of a page: built from the cached window's card rows (as a query
    with ``select_related(...).only(*HIT_FIELDS)`` would build them: same instances,
    same deferred fields), and from the database for products past the window.

    A query for the 24 products of a page cost ~1.2 ms of CPU (72 model instances
    through the ORM, plus a round trip); building them from cached tuples with
    ``from_db`` ~0.25 ms, and with ``_loaded_instance`` ~0.05 ms.
    Every call builds new instances, so a view may set attributes on them.
    """
    db = connection.alias
    products: dict[int, Product] = {}
    missing = []
    for pk in ids:
        card = cards.get(pk)
        if card is None:
            missing.append(pk)
            continue
        values, category, brand = pickle.loads(card)
        product = _loaded_instance(Product, _CARD_PRODUCT_FIELDS, values, db)
        _CARD_CATEGORY.set_cached_value(
            product, category and _loaded_instance(Category, _CARD_CATEGORY_FIELDS, category, db)
        )
        _CARD_BRAND.set_cached_value(
            product, brand and _loaded_instance(Brand, _CARD_BRAND_FIELDS, brand, db)
        )
        products[pk] = product
    if missing:
        products.update(
            Product.objects.select_related("category", "brand").only(*HIT_FIELDS).in_bulk(missing)
        )
    return products


def _loaded_instance(model, attnames: list[str], values: tuple, db: str):
    """``model.from_db(db, attnames, values)``, without running ``Model.__init__``.

    An instance is its ``__dict__``: the loaded fields' values (a field that is absent
    is deferred) and a ModelState saying it came from ``db``. ``from_db`` builds the
    same through ``__init__``, which walks every field and sends pre_init and post_init:
    5.7 us against 0.8 us per instance (72 per page). When something listens to those
    signals for this model, ``from_db`` is used, so that it still hears them.
    """
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(db, attnames, values)
    instance = model.__new__(model)
    fields = instance.__dict__
    fields.update(zip(attnames, values, strict=True))
    state = fields["_state"] = ModelState()
    state.adding = False
    state.db = db
    return instance


def search_log_context(result: SearchResult) -> dict:
    """What a search event records: the total, the ranked list shown and, per shown
    product, its score components (the personalizer's features, for learning to rank)."""
    context = {
        "results": result.total,
        "shown": [h.product.pk for h in result.hits],
        "components": [
            {k: round(float(v), 5) for k, v in h.components.items()} for h in result.hits
        ],
        "personalized": result.personalized,
    }
    if result.corrected_query:
        context["corrected_query"] = result.corrected_query
    return context


# ------------------------------------------------------------------ did you mean


def _term_matches(term: str) -> bool:
    return _text_filter(Product.objects.filter(is_active=True), [term]).exists()


def _catalogue_vocabulary() -> list[str]:
    """Words of active titles, brands and category names (SQLite path; cached)."""
    key = "shop:search:vocabulary"
    words = cache_get(key)
    if words is None:
        seen: set[str] = set()
        rows = Product.objects.filter(is_active=True).values_list(
            "title", "brand__name", "category__path"
        )
        for row in rows.iterator(chunk_size=2000):
            for text in row:
                if text:
                    seen.update(t.lower() for t in _TERM_RE.findall(text))
        words = sorted(w for w in seen if len(w) >= SUGGEST_MIN_LENGTH)
        cache_set(key, words, VOCABULARY_CACHE_SECONDS)
    return words


def _closest_word(term: str) -> str:
    if _postgres():
        # Titles holding a word like the term (trigram GIN index), then their closest word.
        with transaction.atomic(), connection.cursor() as cursor:
            # The default threshold (0.6) misses one dropped letter in a short word.
            cursor.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {TRIGRAM_THRESHOLD}")
            cursor.execute(
                "SELECT title FROM shop_product WHERE is_active AND %s <%% title "
                "ORDER BY word_similarity(%s, title) DESC, popularity DESC LIMIT 20",
                [term, term],
            )
            words = {w.lower() for (title,) in cursor.fetchall() for w in _TERM_RE.findall(title)}
        words.discard(term)
        scored = sorted(
            ((SequenceMatcher(None, term, w).ratio(), w) for w in words),
            key=lambda x: (-x[0], x[1]),
        )
        return scored[0][1] if scored and scored[0][0] >= SUGGEST_CUTOFF else ""
    matches = get_close_matches(term, _catalogue_vocabulary(), n=1, cutoff=SUGGEST_CUTOFF)
    return matches[0] if matches else ""


def did_you_mean(*, terms: list[str]) -> str:
    """A respelling of the query from the catalogue's words, or "" if none is better."""
    corrected, changed = [], False
    for term in terms:
        if len(term) < SUGGEST_MIN_LENGTH or _term_matches(term):
            corrected.append(term)
            continue
        best = _closest_word(term)
        if best and best != term:
            corrected.append(best)
            changed = True
        else:
            corrected.append(term)
    return " ".join(corrected) if changed else ""


# ------------------------------------------------------------------ autocomplete


@dataclass
class Suggestion:
    kind: str  # product, brand, category
    id: int
    label: str


def search_autocomplete(*, prefix: str, limit: int = AUTOCOMPLETE_LIMIT) -> list[Suggestion]:
    """Completions for a partly typed query: a few brands and categories whose name starts
    with it, then the most popular products matching every word as a prefix."""
    prefix = (prefix or "").strip()[:MAX_QUERY_LENGTH]
    terms = list(dict.fromkeys(t.lower() for t in _TERM_RE.findall(prefix)))[:MAX_TERMS]
    if not terms:
        return []
    limit = max(1, min(limit, 20))
    out: list[Suggestion] = []
    for pk, name in Brand.objects.filter(name__istartswith=prefix).values_list("pk", "name")[:2]:
        out.append(Suggestion("brand", pk, name))
    for pk, name in Category.objects.filter(name__istartswith=prefix).values_list("pk", "path")[:2]:
        out.append(Suggestion("category", pk, name))
    products = _text_filter(Product.objects.filter(is_active=True), terms).order_by(
        "-popularity", "pk"
    )
    for pk, title in products.values_list("pk", "title")[: max(limit - len(out), 1)]:
        out.append(Suggestion("product", pk, title))
    return out[:limit]
