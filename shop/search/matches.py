"""What a query and its filters match (total, facets, the re-rank window, its rules and
product cards), computed once and kept in both cache levels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from shop.caching import cache_get, cache_set
from shop.personalization import SearchCandidates
from shop.search.cache import local_matches
from shop.search.cards import pickled_cards
from shop.search.facets import FacetValue
from shop.search.params import SearchParams
from shop.search.postgres import matches_postgres
from shop.search.retrieval import filtered_queryset, is_postgres
from shop.search.rules import SearchRules, search_rules_for_query, with_pins
from shop.search.sqlite import matches_sqlite
from shop.text import normalize_query

# Part of the cache key: a new format of Matches never reads an older one.
MATCHES_FORMAT = 5


@dataclass(frozen=True)
class Matches:
    """What a query and its filters match, independent of sort and page. Read-only: a
    process shares one instance between the searches that read it (``LocalMatches``)."""

    rules: SearchRules
    total: int
    facets: dict[str, tuple[FacetValue, ...]]
    # The best RERANK_WINDOW matches in text order: (pk, text score, stock, popularity,
    # brand id or None).
    window: list[tuple[int, float, int, float, int | None]]
    # What result lists show of each window product, so that a page of the window needs
    # no query: {pk: pickled card row} (shop.search.cards).
    cards: dict[int, bytes] = field(default_factory=dict)

    def ranking_input(self) -> tuple[SearchCandidates, dict[int, bool], float]:
        """(the window as personalizer candidates, in stock by product, best text score):
        derived once per instance (a process's cached matches serve many searches) and
        never pickled."""
        derived = self.__dict__.get("_ranking_input")
        if derived is None:
            top = max((row[1] for row in self.window), default=0.0) or 1.0
            # The score is the normalised text relevance (personalizers read it as "text").
            candidates = SearchCandidates(
                tuple(row[0] for row in self.window),
                tuple(row[1] / top for row in self.window),
                tuple(row[3] for row in self.window),
                tuple(row[4] for row in self.window),
            )
            in_stock = {row[0]: row[2] > 0 for row in self.window}
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


def matches_for(params: SearchParams, generation: int) -> Matches:
    """Total, facets and re-rank window of a query, from the caches when they have them
    (this process's, then the shared one).

    The key holds the query's terms and every filter, never the shopper: the cached
    part is the same for everyone, the personal order is computed per request.
    """
    key = _key(params, generation)
    # Generation 0: the shared cache is unreachable, so other processes' saves could not
    # be seen here; the process keeps nothing (as the shared cache keeps nothing then).
    local = local_matches if generation != 0 else None
    found = local.get(key, generation) if local is not None else None
    if found is not None:
        return found
    found = cache_get(key)
    if not isinstance(found, Matches):
        found = _find(params)
        cache_set(key, found, getattr(settings, "SEARCH_CACHE_SECONDS", 60))
    if local is not None:
        local.put(key, generation, found)
    return found


def _key(params: SearchParams, generation: int) -> str:
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
    return f"shop:search:{generation}:{hashlib.sha1(key_source.encode()).hexdigest()}"


def _find(params: SearchParams) -> Matches:
    """The matches from the database."""
    rules = search_rules_for_query(query=params.query)
    base = filtered_queryset(params, banned=rules.bans)
    find = matches_postgres if is_postgres() else matches_sqlite
    total, facets, window = find(base, params.terms)
    if rules.pins and params.terms:
        total, window = with_pins(params, rules, total, window)
    return Matches(
        rules=rules,
        total=total,
        # Facet lists as tuples: the searches of a process share one instance.
        facets={kind: tuple(values) for kind, values in facets.items()},
        window=window,
        cards=pickled_cards([row[0] for row in window]),
    )
