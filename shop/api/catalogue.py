"""API v1: products, similar items and the shopper's recommendations."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from shop.api.serializers import ProductSerializer, ScoredProductSerializer
from shop.models import Brand, Category, Product
from shop.personalization import ScoredItem, get_personalizer
from shop.search.params import MAX_PAGE_SIZE
from shop.selectors import products_in_order
from shop.shoppers import shopper_from_request

DEFAULT_RECOMMENDATIONS = 10
MAX_RECOMMENDATIONS = 50


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


PRODUCT_FILTERS = [
    OpenApiParameter(
        "category",
        OpenApiTypes.STR,
        description="Category ids, comma-separated or repeated; a category includes the "
        "categories below it.",
    ),
    OpenApiParameter(
        "brand", OpenApiTypes.STR, description="Brand ids, comma-separated or repeated."
    ),
]


@extend_schema(
    summary="Active products",
    parameters=PRODUCT_FILTERS,
    responses={200: ProductSerializer(many=True), 400: BAD_PARAMETERS},
)
class ProductListView(V1Defaults, generics.ListAPIView):
    """Active products, by title, paginated; filter by category (with its subcategories)
    and brand ids. Unknown ids are a 400, like search."""

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


@extend_schema(summary="One active product", responses={200: ProductSerializer, 404: None})
class ProductDetailView(V1Defaults, generics.RetrieveAPIView):
    """An active product; inactive or unknown products are a 404."""

    serializer_class = ProductSerializer
    queryset = Product.objects.filter(is_active=True).select_related("category", "brand")


LIMIT_RECOMMENDATIONS = OpenApiParameter(
    "limit",
    OpenApiTypes.INT,
    description=f"How many products, 1 to {MAX_RECOMMENDATIONS} (default {DEFAULT_RECOMMENDATIONS}).",
)


def _limit(request: Request) -> int:
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


class SimilarProductsView(ApiView):
    @extend_schema(
        summary="Products similar to a product",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={200: ScoredProductSerializer(many=True), 400: BAD_PARAMETERS, 404: None},
    )
    def get(self, request: Request, pk: int) -> Response:
        """The personalizer's similar products (active ones only); 404 for an inactive
        or unknown product."""
        limit = _limit(request)
        product = get_object_or_404(Product.objects.only("pk"), pk=pk, is_active=True)
        shopper = shopper_from_request(request)
        items = get_personalizer().similar(product_id=product.pk, shopper=shopper, limit=limit)
        return _scored_response(
            request, [p for p in scored_products(items) if p.pk != product.pk][:limit]
        )


class RecommendationsView(ApiView):
    @extend_schema(
        summary="Recommendations for the requesting shopper",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={200: ScoredProductSerializer(many=True), 400: BAD_PARAMETERS},
    )
    def get(self, request: Request) -> Response:
        """The personalizer's recommendations for the authenticated user, else for the
        session (a visitor with neither gets the non-personalized answer)."""
        limit = _limit(request)
        shopper = shopper_from_request(request)
        items = get_personalizer().recommend(shopper=shopper, limit=limit)
        return _scored_response(request, scored_products(items)[:limit])
