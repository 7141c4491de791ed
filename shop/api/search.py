"""API v1: search and autocomplete, through the shop's search service.

Search takes the storefront's parameters (shop.search.params.SearchParams: q, category,
brand, price_min, price_max, in_stock, sort, page, page_size) and answers what the
storefront shows: the page of results with their scores and reasons, the category and
brand facets, did-you-mean and the typo-corrected query. Personalized, so
``Cache-Control: private, no-store``. Autocomplete is the same for everybody: an ETag
and ``public, max-age=60`` (shop.api.conditional)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import (
    APP_SOURCE,
    BAD_PARAMETERS,
    ApiView,
    bad_request,
    int_param,
)
from shop.api.catalogue import THROTTLED, integer_schema
from shop.api.conditional import NOT_MODIFIED, CacheableRead, PrivateResponse
from shop.api.examples import AUTOCOMPLETE_EXAMPLE, SEARCH_EXAMPLE, SEARCH_TYPO_EXAMPLE
from shop.api.serializers import (
    AutocompleteResponseSerializer,
    SearchResponseSerializer,
)
from shop.search.autocomplete import search_autocomplete
from shop.search.params import MAX_PAGE_SIZE, SORTS, SearchInputError
from shop.search.service import LoggedSearch, search_and_log
from shop.text import MAX_QUERY_LENGTH

# The largest id or page number the search parameters accept (shop.search.params).
MAX_SEARCH_NUMBER = 2**31
MAX_PRICE = 10_000_000_000
MAX_AUTOCOMPLETE_PREFIX = 200
PRICE = {"type": "number", "minimum": 0, "maximum": MAX_PRICE}

SEARCH_PARAMETERS = [
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        description=f"Free text, at most {MAX_QUERY_LENGTH} characters (no NUL).",
    ),
    OpenApiParameter(
        "category",
        integer_schema(1, MAX_SEARCH_NUMBER),
        description="Category id (with its subcategories); unknown is a 400.",
    ),
    OpenApiParameter(
        "brand", integer_schema(1, MAX_SEARCH_NUMBER), description="Brand id; unknown is a 400."
    ),
    OpenApiParameter("price_min", PRICE, description="Lowest price, rounded up to cents."),
    OpenApiParameter(
        "price_max",
        PRICE,
        description="Highest price, rounded down to cents; below price_min is a 400.",
    ),
    OpenApiParameter("in_stock", OpenApiTypes.BOOL, description="Only products in stock."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS), default="relevance"),
    OpenApiParameter(
        "page",
        integer_schema(1, MAX_SEARCH_NUMBER),
        description="1 or more; past the end means the last page.",
    ),
    OpenApiParameter(
        "page_size",
        integer_schema(1, MAX_PAGE_SIZE),
        description=f"1 to {MAX_PAGE_SIZE} (default 24).",
    ),
]


class SearchView(PrivateResponse, ApiView):
    @extend_schema(
        summary="Search products",
        parameters=SEARCH_PARAMETERS,
        responses={200: SearchResponseSerializer, 400: BAD_PARAMETERS, 429: THROTTLED},
        examples=[SEARCH_EXAMPLE, SEARCH_TYPO_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """The storefront's search (shop.search.service.search_and_log) for the requesting
        shopper: filters, facets, sort and personalized order. A query without results
        gets ``did_you_mean``; when that spelling has results they are shown, with
        ``corrected_query`` set. Page 1 of a non-empty query records a ``search`` event,
        as the storefront does. Personalized: ``Cache-Control: private, no-store``."""
        # The storefront clamps a page size past the largest to it; the API refuses it,
        # as its schema says.
        int_param(request, "page_size", default=1, minimum=1, maximum=MAX_PAGE_SIZE)
        try:
            logged = search_and_log(request=request, source=APP_SOURCE)
        except SearchInputError as error:
            raise bad_request(error.field, error.reason) from None
        payload = _search_payload(logged)
        return Response(SearchResponseSerializer(payload, context={"request": request}).data)


def _search_payload(logged: LoggedSearch) -> dict:
    """What SearchResponseSerializer renders: the page's products carry their score and
    reason."""
    result = logged.result
    products = []
    for hit in result.hits:
        hit.product.score = hit.score
        hit.product.reason = hit.reason
        products.append(hit.product)
    return {
        "query": result.params.query,
        "total": result.total,
        "page": result.page,
        "num_pages": result.num_pages,
        "personalized": result.personalized,
        "did_you_mean": result.did_you_mean,
        "corrected_query": result.corrected_query,
        "search_event_id": logged.search_event_id,
        "results": products,
        "facets": result.facets,
    }


class SearchAutocompleteView(CacheableRead, ApiView):
    @extend_schema(
        summary="Search-box completions",
        parameters=[
            OpenApiParameter(
                "q",
                {"type": "string", "maxLength": MAX_AUTOCOMPLETE_PREFIX},
                description=f"What was typed, at most {MAX_AUTOCOMPLETE_PREFIX} characters.",
            ),
            OpenApiParameter("limit", integer_schema(1, 20), description="1 to 20, default 8."),
        ],
        responses={
            200: AutocompleteResponseSerializer,
            304: NOT_MODIFIED,
            400: BAD_PARAMETERS,
            429: THROTTLED,
        },
        examples=[AUTOCOMPLETE_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """Brands and categories whose name starts with ``q``, then the most popular
        products matching every typed word as a prefix. The same for everybody: an ETag
        and ``Cache-Control: public, max-age=60``."""
        prefix = request.query_params.get("q", "")
        if len(prefix) > MAX_AUTOCOMPLETE_PREFIX:
            raise bad_request("q", f"at most {MAX_AUTOCOMPLETE_PREFIX} characters")
        limit = int_param(request, "limit", default=8, minimum=1, maximum=20)
        suggestions = search_autocomplete(prefix=prefix.replace("\x00", ""), limit=limit)
        payload = {"query": prefix, "suggestions": [s.__dict__ for s in suggestions]}
        return Response(AutocompleteResponseSerializer(payload).data)
