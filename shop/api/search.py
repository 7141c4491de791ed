"""API v1: search and autocomplete, through the shop's search service."""

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
from shop.api.serializers import (
    AutocompleteResponseSerializer,
    SearchResponseSerializer,
)
from shop.search.autocomplete import search_autocomplete
from shop.search.params import MAX_PAGE_SIZE, SORTS, SearchInputError
from shop.search.service import LoggedSearch, search_and_log


class SearchView(ApiView):
    @extend_schema(
        summary="Search products",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Free text, at most 500 chars."),
            OpenApiParameter(
                "category", OpenApiTypes.INT, description="Category id (with its subcategories)."
            ),
            OpenApiParameter("brand", OpenApiTypes.INT, description="Brand id."),
            OpenApiParameter("price_min", OpenApiTypes.DECIMAL),
            OpenApiParameter("price_max", OpenApiTypes.DECIMAL),
            OpenApiParameter("in_stock", OpenApiTypes.BOOL),
            OpenApiParameter(
                "sort",
                OpenApiTypes.STR,
                enum=list(SORTS),
            ),
            OpenApiParameter(
                "page", OpenApiTypes.INT, description="1 or more; past the end means the last page."
            ),
            OpenApiParameter(
                "page_size", OpenApiTypes.INT, description=f"At most {MAX_PAGE_SIZE}."
            ),
        ],
        responses={200: SearchResponseSerializer, 400: BAD_PARAMETERS},
    )
    def get(self, request: Request) -> Response:
        """The storefront's search (shop.search.service.search_and_log) for the requesting
        shopper: filters, facets, sort and personalized order. Page 1 of a non-empty
        query records a ``search`` event, as the storefront does."""
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


class SearchAutocompleteView(ApiView):
    @extend_schema(
        summary="Search-box completions",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="What was typed, at most 200."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 20, default 8."),
        ],
        responses={200: AutocompleteResponseSerializer, 400: BAD_PARAMETERS},
    )
    def get(self, request: Request) -> Response:
        """Brands and categories whose name starts with ``q``, then the most popular
        products matching every typed word as a prefix."""
        prefix = request.query_params.get("q", "")
        if len(prefix) > 200:
            raise bad_request("q", "at most 200 characters")
        limit = int_param(request, "limit", default=8, minimum=1, maximum=20)
        suggestions = search_autocomplete(prefix=prefix.replace("\x00", ""), limit=limit)
        payload = {"query": prefix, "suggestions": [s.__dict__ for s in suggestions]}
        return Response(AutocompleteResponseSerializer(payload).data)
