"""API v1: products, similar items and the shopper's recommendations."""

from __future__ import annotations

import logging

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import (
    BAD_PARAMETERS,
    DEFAULT_RECOMMENDATIONS,
    LIMIT_RECOMMENDATIONS,
    MAX_ID,
    MAX_RECOMMENDATIONS,
    ApiView,
    V1Defaults,
    bad_request,
    id_list_param,
    int_param,
    scored_products,
)
from shop.api.serializers import (
    ProductSerializer,
    ScoredProductSerializer,
)
from shop.models import Brand, Category, Product
from shop.personalization import get_personalizer
from shop.search import (
    MAX_PAGE_SIZE,
)
from shop.shoppers import shopper_from_request

logger = logging.getLogger(__name__)


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
        category_ids = id_list_param(self.request, "category")
        if category_ids:
            categories = list(Category.objects.filter(pk__in=category_ids))
            missing = set(category_ids) - {c.pk for c in categories}
            if missing:
                raise bad_request("category", f"no category with id {min(missing)}")
            wanted = {pk for c in categories for pk in c.descendant_ids()}
            qs = qs.filter(category_id__in=wanted)
        brand_ids = id_list_param(self.request, "brand")
        if brand_ids:
            found = set(Brand.objects.filter(pk__in=brand_ids).values_list("pk", flat=True))
            missing = set(brand_ids) - found
            if missing:
                raise bad_request("brand", f"no brand with id {min(missing)}")
            qs = qs.filter(brand_id__in=brand_ids)
        return qs.order_by("title", "pk")


@extend_schema(summary="One active product", responses={200: ProductSerializer, 404: None})
class ProductDetailView(V1Defaults, generics.RetrieveAPIView):
    """An active product; inactive or unknown products are a 404."""

    serializer_class = ProductSerializer
    queryset = Product.objects.filter(is_active=True).select_related("category", "brand")


class SimilarProductsView(ApiView):
    @extend_schema(
        summary="Products similar to a product",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={200: ScoredProductSerializer(many=True), 400: BAD_PARAMETERS, 404: None},
    )
    def get(self, request: Request, pk: int) -> Response:
        """The personalizer's similar products (active ones only); 404 for an inactive
        or unknown product."""
        limit = int_param(
            request,
            "limit",
            default=DEFAULT_RECOMMENDATIONS,
            minimum=1,
            maximum=MAX_RECOMMENDATIONS,
        )
        product = get_object_or_404(Product.objects.only("pk"), pk=pk, is_active=True)
        shopper = shopper_from_request(request)
        items = get_personalizer().similar(product_id=product.pk, shopper=shopper, limit=limit)
        products = [p for p in scored_products(items) if p.pk != product.pk][:limit]
        data = ScoredProductSerializer(products, many=True, context={"request": request}).data
        return Response(data)


class RecommendationsView(ApiView):
    @extend_schema(
        summary="Recommendations for the requesting shopper",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={200: ScoredProductSerializer(many=True), 400: BAD_PARAMETERS},
    )
    def get(self, request: Request) -> Response:
        """The personalizer's recommendations for the authenticated user, else for the
        session (a visitor with neither gets the non-personalized answer)."""
        limit = int_param(
            request,
            "limit",
            default=DEFAULT_RECOMMENDATIONS,
            minimum=1,
            maximum=MAX_RECOMMENDATIONS,
        )
        shopper = shopper_from_request(request)
        items = get_personalizer().recommend(shopper=shopper, limit=limit)
        products = scored_products(items)[:limit]
        data = ScoredProductSerializer(products, many=True, context={"request": request}).data
        return Response(data)
