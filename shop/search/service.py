"""The search service: a page of results for a shopper (``search_products``), and the
steps both the storefront and the API take around it (``search_and_log``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from django.http import HttpRequest

from shop.events.record import event_record
from shop.models import EventType, Product
from shop.personalization import ScoredItem
from shop.search.cache import search_generation
from shop.search.cards import products_shown
from shop.search.facets import FacetValue
from shop.search.matches import Matches, matches_for
from shop.search.params import SearchParams
from shop.search.ranking import personalized_page
from shop.search.retrieval import RERANK_WINDOW, sorted_page
from shop.search.spelling import did_you_mean
from shop.shoppers import Shopper, shopper_from_request

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class LoggedSearch:
    result: SearchResult
    # The search event recorded for this page, if one was (page 1 of a query).
    search_event_id: int | None


def search_and_log(*, request: HttpRequest, source: str = "web") -> LoggedSearch:
    """Search as the request's GET parameters ask, for the shopper making it, and record
    page 1 of a non-empty query as a ``search`` event (from ``source``) with the list
    shown. Raises SearchInputError naming the first bad parameter."""
    params = SearchParams.from_mapping(request.GET)
    shopper = shopper_from_request(request, create_session=bool(params.query))
    arm = _search_arm(shopper)
    result = search_products(params=params, shopper=arm.shopper if arm else shopper)
    # A page whose order the arm decides: the shopper saw their arm.
    seen = arm is not None and result.personalized
    if seen:
        _search_arm_seen(arm, result)
    search_event = None
    if params.query and result.page == 1:
        context = search_log_context(result)
        if seen:
            context["experiment"] = dict(arm.context)
        search_event = event_record(
            shopper=shopper,
            event_type=EventType.SEARCH,
            query=params.query,
            context=context,
            source=source,
        )
    return LoggedSearch(result, search_event.pk if search_event else None)


# ---------------------------------------------------------------- A/B experiments


@dataclass(frozen=True)
class SearchArm:
    """The arm of an A/B experiment on the search order that serves a shopper."""

    shopper: Shopper  # as served: ``personalize`` off in a lexical arm
    context: Mapping  # recorded with the search event ({"experiment": id, "arm": name})
    expose: Callable[[], None]  # records that the shopper saw the arm


# shop.experiments registers the function that says which arm serves a shopper (this
# package sits below it and cannot import it).
_search_arm_provider: list[Callable[[Shopper], SearchArm | None]] = []


def search_arm_provider_set(provider: Callable[[Shopper], SearchArm | None] | None) -> None:
    _search_arm_provider[:] = [provider] if provider else []


def _search_arm(shopper: Shopper) -> SearchArm | None:
    if not _search_arm_provider:
        return None
    try:
        return _search_arm_provider[0](shopper)
    except Exception:  # an experiment must never break a search
        logger.exception("Search experiment failed; serving the default order")
        return None


def _search_arm_seen(arm: SearchArm, result: SearchResult) -> None:
    try:
        arm.expose()
    except Exception:
        logger.exception("Search experiment exposure failed")
    # The page and the search event say which order was shown.
    result.personalized = arm.shopper.personalize


def search_products(
    *, params: SearchParams, shopper: Shopper, correct_typos: bool = True
) -> SearchResult:
    """Run a search. Raises SearchInputError for unknown facet values.

    A query with no results gets a ``did_you_mean`` spelling built from the catalogue's
    words; when that spelling has results (and ``correct_typos``), they are shown instead,
    with ``corrected_query`` set.
    """
    found = matches_for(params, search_generation())
    if not found.total and params.terms and correct_typos:
        corrected = _corrected_search(params, shopper)
        if corrected is not None:
            return corrected
    num_pages = max(1, math.ceil(found.total / params.page_size))
    page = min(params.page, num_pages)  # an absurd page number shows the last page
    start = (page - 1) * params.page_size
    personalized = params.sort == "relevance" and start < RERANK_WINDOW and found.total > 0
    items = _page_items(found, params, shopper, start=start, personalized=personalized)
    return SearchResult(
        params=params,
        hits=_hits(items, found.cards),
        total=found.total,
        page=page,
        num_pages=num_pages,
        facets=MappingProxyType(found.facets),  # read-only: shared by this process
        personalized=personalized,
    )


def _page_items(
    found: Matches, params: SearchParams, shopper: Shopper, *, start: int, personalized: bool
) -> list[ScoredItem]:
    """The page's items: re-ranked for the shopper, or in the requested order from the
    database."""
    end = start + params.page_size
    if personalized:
        return personalized_page(found, params, shopper, start=start, end=end)
    rows = sorted_page(params, banned=found.rules.bans, start=start, end=end)
    return [ScoredItem(product_id=pk, score=float(s)) for pk, s in rows]


def _corrected_search(params: SearchParams, shopper: Shopper) -> SearchResult | None:
    """The search of the query's did-you-mean spelling, or None when there is none."""
    suggestion = did_you_mean(terms=params.terms)
    if not suggestion:
        return None
    corrected = search_products(
        params=params.with_query(suggestion), shopper=shopper, correct_typos=False
    )
    corrected.params = params
    corrected.did_you_mean = suggestion
    corrected.corrected_query = suggestion if corrected.total else ""
    return corrected


def _hits(items: list[ScoredItem], cards: dict[int, bytes]) -> list[SearchHit]:
    by_id = products_shown([i.product_id for i in items], cards)
    return [
        SearchHit(
            product=by_id[i.product_id], score=i.score, reason=i.reason, components=i.components
        )
        for i in items
        if i.product_id in by_id
    ]


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
