"""API v1: products, categories, similar items and the shopper's recommendations.

Catalogue reads (products, categories) are the same for everybody: they carry an ETag
and ``Cache-Control: public, max-age=60`` and answer 304 to a matching If-None-Match
(shop.api.conditional). Similar items and recommendations are personalized:
``Cache-Control: private, no-store``."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import (
    BAD_PARAMETERS,
    MAX_ID,
    ApiView,
    V1Defaults,
    bad_request,
    id_list_param,
    int_param,
)
from shop.api.conditional import NOT_MODIFIED, CacheableRead, PrivateResponse
from shop.api.examples import (
    CATEGORY_TREE_EXAMPLE,
    PRODUCT_EXAMPLE,
    PRODUCT_LIST_EXAMPLE,
    SCORED_LIST_EXAMPLE,
)
from shop.api.renderers import json_bytes
from shop.api.serializers import (
    CategoryNodeSerializer,
    ErrorSerializer,
    ProductSerializer,
    ScoredProductSerializer,
)
from shop.models import Brand, Category, Product
from shop.personalization import ScoredItem, get_personalizer
from shop.recommendations import (
    recommendations_for_shopper,
    recommendations_page_get,
    recommendations_page_store,
)
from shop.search.params import MAX_PAGE_SIZE
from shop.selectors import category_tree_with_counts, products_in_order
from shop.shoppers import shopper_from_request

DEFAULT_RECOMMENDATIONS = 10
MAX_RECOMMENDATIONS = 50

NO_SUCH_PRODUCT = OpenApiResponse(ErrorSerializer, description="No such active product.")
THROTTLED = OpenApiResponse(
    ErrorSerializer, description="Too many requests; retry after Retry-After seconds."
)


def integer_schema(minimum: int, maximum: int) -> dict:
    """A query parameter's schema with the bounds the view enforces (a value outside
    them is a 400), so that generated clients and fuzzers agree with the API."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def id_list_parameter(name: str, description: str) -> OpenApiParameter:
    """An ``id_list_param``: ids comma-separated or repeated (``?brand=1,2&brand=3``)."""
    return OpenApiParameter(
        name,
        # Empty parts are skipped (``?brand=`` filters nothing), as id_list_param does.
        {"type": "string", "pattern": r"^(,*[0-9]{1,10})*,*$"},
        description=f"{description} Ids comma-separated or repeated, at most 50.",
    )


class ProductPagination(PageNumberPagination):
    """Page-number pagination; a malformed ``page`` or ``page_size`` is a 400 (a page past
    the end stays DRF's 404)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return int_param(
            request,
            self.page_size_query_param,
            default=self.page_size,
            minimum=1,
            maximum=self.max_page_size,
        )

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return paginator.num_pages
        return int_param(request, self.page_query_param, default=1, minimum=1, maximum=MAX_ID)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: (1, MAX_ID),
            self.page_size_query_param: (1, self.max_page_size),
        }
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"] = integer_schema(low, high)
        parameters[0]["description"] = (
            "A page number, 1 or more (a page past the end is a 404; 'last' is the last page)."
        )
        return parameters


PRODUCT_FILTERS = [
    id_list_parameter(
        "category", "Categories; a category includes the categories below it; unknown is a 400."
    ),
    id_list_parameter("brand", "Brands; unknown is a 400."),
]
CATALOGUE_ERRORS = {304: NOT_MODIFIED, 400: BAD_PARAMETERS, 429: THROTTLED}


@extend_schema(
    summary="Active products",
    parameters=PRODUCT_FILTERS,
    responses={
        200: ProductSerializer(many=True),
        **CATALOGUE_ERRORS,
        404: OpenApiResponse(ErrorSerializer, description="A page past the end."),
    },
    examples=[PRODUCT_LIST_EXAMPLE],
)
class ProductListView(CacheableRead, V1Defaults, generics.ListAPIView):
    """Active products, by title, paginated; filter by category (with its subcategories)
    and brand ids. Unknown ids are a 400, like search. Carries an ETag and
    ``Cache-Control: public, max-age=60``; a matching ``If-None-Match`` gets a 304."""

    serializer_class = ProductSerializer
    pagination_class = ProductPagination

    def get_queryset(self):
        qs = Product.objects.filter(is_active=True).select_related("category", "brand")
        category_ids = _category_filter(self.request)
        if category_ids:
            qs = qs.filter(category_id__in=category_ids)
        brand_ids = _brand_filter(self.request)
        if brand_ids:
            qs = qs.filter(brand_id__in=brand_ids)
        return qs.order_by("title", "pk")


def _category_filter(request: Request) -> set[int]:
    """The ``category`` ids asked for with every category below them; unknown is a 400."""
    category_ids = id_list_param(request, "category")
    categories = list(Category.objects.filter(pk__in=category_ids)) if category_ids else []
    missing = set(category_ids) - {c.pk for c in categories}
    if missing:
        raise bad_request("category", f"no category with id {min(missing)}")
    return {pk for c in categories for pk in c.descendant_ids()}


def _brand_filter(request: Request) -> list[int]:
    """The ``brand`` ids asked for; an unknown one is a 400."""
    brand_ids = id_list_param(request, "brand")
    if brand_ids:
        found = set(Brand.objects.filter(pk__in=brand_ids).values_list("pk", flat=True))
        missing = set(brand_ids) - found
        if missing:
            raise bad_request("brand", f"no brand with id {min(missing)}")
    return brand_ids


@extend_schema(
    summary="One active product",
    responses={
        200: ProductSerializer,
        304: NOT_MODIFIED,
        404: NO_SUCH_PRODUCT,
        429: THROTTLED,
    },
    examples=[PRODUCT_EXAMPLE],
)
class ProductDetailView(CacheableRead, V1Defaults, generics.RetrieveAPIView):
    """An active product; inactive or unknown products are a 404. Carries an ETag and
    ``Cache-Control: public, max-age=60``; a matching ``If-None-Match`` gets a 304."""

    serializer_class = ProductSerializer
    queryset = Product.objects.filter(is_active=True).select_related("category", "brand")


class CategoryTreeView(CacheableRead, ApiView):
    @extend_schema(
        summary="The category tree",
        responses={200: CategoryNodeSerializer(many=True), 304: NOT_MODIFIED, 429: THROTTLED},
        examples=[CATEGORY_TREE_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """Every category, roots first, each with the categories below it (``children``)
        and the number of active products in it and below it. Carries an ETag and
        ``Cache-Control: public, max-age=60``; a matching ``If-None-Match`` gets a 304."""
        tree = category_tree_with_counts()
        return Response(CategoryNodeSerializer(tree, many=True).data)


LIMIT_RECOMMENDATIONS = OpenApiParameter(
    "limit",
    integer_schema(1, MAX_RECOMMENDATIONS),
    description=f"How many products, 1 to {MAX_RECOMMENDATIONS} (default {DEFAULT_RECOMMENDATIONS}).",
)


def recommendations_limit(request: Request) -> int:
    """The ``limit`` of a recommendations-like list (LIMIT_RECOMMENDATIONS)."""
    return int_param(
        request, "limit", default=DEFAULT_RECOMMENDATIONS, minimum=1, maximum=MAX_RECOMMENDATIONS
    )


def scored_products(items: list[ScoredItem]) -> list[Product]:
    """Active products for scored items, in order, each once, with score and reason set
    (one query). A plugged-in personalizer may name inactive products; never show those."""
    ids = list(dict.fromkeys(i.product_id for i in items))
    products = {p.pk: p for p in products_in_order(product_ids=ids) if p.is_active}
    result = []
    for item in items:
        product = products.pop(item.product_id, None)
        if product is None:
            continue
        product.score = item.score
        product.reason = item.reason
        result.append(product)
    return result


def _scored_response(request: Request, products: list[Product]) -> Response:
    data = ScoredProductSerializer(products, many=True, context={"request": request}).data
    return Response(data)


class SimilarProductsView(PrivateResponse, ApiView):
    @extend_schema(
        summary="Products similar to a product",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={
            200: ScoredProductSerializer(many=True),
            400: BAD_PARAMETERS,
            404: NO_SUCH_PRODUCT,
            429: THROTTLED,
        },
        examples=[SCORED_LIST_EXAMPLE],
    )
    def get(self, request: Request, pk: int) -> Response:
        """The personalizer's similar products (active ones only), each with its score
        and reason; 404 for an inactive or unknown product. Personalized:
        ``Cache-Control: private, no-store``."""
        limit = recommendations_limit(request)
        product = get_object_or_404(Product.objects.only("pk"), pk=pk, is_active=True)
        shopper = shopper_from_request(request)
        items = get_personalizer().similar(product_id=product.pk, shopper=shopper, limit=limit)
        return _scored_response(
            request, [p for p in scored_products(items) if p.pk != product.pk][:limit]
        )


class RecommendationsView(PrivateResponse, ApiView):
    @extend_schema(
        summary="Recommendations for the requesting shopper",
        parameters=[
            LIMIT_RECOMMENDATIONS,
            id_list_parameter(
                "category",
                "Only products in these categories or below them; an unknown category is a 400.",
            ),
            id_list_parameter(
                "exclude", "Products not to recommend (e.g. those already on screen)."
            ),
        ],
        responses={
            200: ScoredProductSerializer(many=True),
            400: BAD_PARAMETERS,
            429: THROTTLED,
        },
        examples=[SCORED_LIST_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """The personalizer's recommendations for the authenticated user, else for the
        device or session (a visitor with neither gets the non-personalized answer), each
        with its score and the reason it was chosen.

        ``category``: the personalizer is asked for five times ``limit`` products (at
        most 250) and those in the categories are kept; when fewer than ``limit`` are,
        the categories' most popular products fill the list (reason "Popular in ...", or
        "More in ..." for those nobody chose lately).
        ``exclude``: never these products. Personalized: ``Cache-Control: private,
        no-store``. The rendered answer is kept for the shopper (up to SEARCH_CACHE_SECONDS) and
        dropped as soon as their events, their opt-out, their re-scoring or the
        catalogue change (shop.recommendations)."""
        limit = recommendations_limit(request)
        category_ids = _category_filter(request)
        exclude = id_list_param(request, "exclude")
        shopper = shopper_from_request(request)
        # The rendered page is kept per shopper (shop.recommendations); the signature
        # holds everything else the page depends on, the host of its URLs included.
        kept = request.accepted_renderer.format == "json"
        signature = "|".join(
            (
                request.get_host(),
                str(limit),
                ",".join(map(str, sorted(category_ids))),
                ",".join(map(str, exclude)),
                "p" if shopper.personalize else "n",
            )
        )
        lease = None
        if kept:
            body, lease = recommendations_page_get(shopper=shopper, signature=signature)
            if body is not None:
                return HttpResponse(body, content_type="application/json")
        items = recommendations_for_shopper(
            shopper=shopper, limit=limit, exclude=exclude, category_ids=category_ids
        )
        products = scored_products(items)[:limit]
        data = ScoredProductSerializer(products, many=True, context={"request": request}).data
        if not kept:
            return Response(data)
        body = json_bytes(data)
        recommendations_page_store(shopper=shopper, signature=signature, body=body, lease=lease)
        return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("categories/", CategoryTreeView.as_view(), name="category-list"),
]
