"""API v1, staff: search analytics and a shopper's recommendations and history for
support. Each endpoint checks its Django permission (``HasPermission``); the
recommender's staff endpoints (recommender.api) use the same building blocks."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from shop.analytics import search_analytics
from shop.api.base import BAD_PARAMETERS, ApiView, V1Defaults, int_param
from shop.api.catalogue import LIMIT_RECOMMENDATIONS, recommendations_limit, scored_products
from shop.api.me import EventCursorPagination
from shop.api.serializers import ErrorSerializer, MyEventSerializer, ScoredProductSerializer
from shop.experiments.serving import exposures_paused
from shop.personalization import get_personalizer
from shop.selectors import shopper_events
from shop.shoppers import Shopper, shopper_opted_out

# ------------------------------------------------------------------ shared by staff views


class HasPermission(BasePermission):
    """The Django permission the view names for the request's method, in
    ``required_permissions = {"GET": "app.codename", ...}`` (HEAD and OPTIONS need the
    GET one). ``user.has_perm``: a superuser has every permission, ``is_staff`` alone
    none. Anonymous callers get 401 (DRF answers ``not_authenticated`` when no
    authenticator succeeded), authenticated ones without the permission 403."""

    message = "You do not have the permission this action needs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        permission = view.required_permissions.get(method)
        return permission is not None and user.has_perm(permission)


class Conflict(APIException):
    """409: the action does not fit the resource's current state."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class StaffView(ApiView):
    permission_classes = [HasPermission]
    required_permissions: dict[str, str] = {}


class StaffListView(V1Defaults, generics.ListAPIView):
    permission_classes = [HasPermission]
    required_permissions: dict[str, str] = {}


def staff_errors(*extra: int) -> dict[int, OpenApiResponse]:
    """The documented errors of a staff endpoint: 401, 403, 429, and ``extra``."""
    reasons = {
        400: "An invalid parameter or body.",
        401: "Not signed in (or the token is invalid or expired).",
        403: "Signed in without the permission this endpoint needs.",
        404: "No such resource.",
        409: "The resource is not in a state that allows the action.",
        429: "Too many requests; retry after Retry-After seconds.",
    }
    return {
        code: OpenApiResponse(ErrorSerializer, description=reasons[code])
        for code in sorted({401, 403, 429, *extra})
    }


# ------------------------------------------------------------------------ search analytics

DEFAULT_DAYS = 30
MAX_DAYS = 365
DEFAULT_TOP = 20
MAX_TOP = 100


class QueryStatsSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="Lower-cased.")
    searches = serializers.IntegerField()
    clicks = serializers.IntegerField(help_text="Result clicks that named this query.")
    click_through_rate = serializers.FloatField(help_text="Clicks per search.")


class ZeroResultQuerySerializer(serializers.Serializer):
    query = serializers.CharField(help_text="Lower-cased.")
    searches = serializers.IntegerField()
    last_searched_at = serializers.DateTimeField()


class PositionStatsSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1-based rank in the result list.")
    impressions = serializers.IntegerField(
        help_text="Logged searches whose first page showed a product at this position."
    )
    clicks = serializers.IntegerField()
    click_through_rate = serializers.FloatField(help_text="Clicks per impression.")


class SearchAnalyticsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    searches = serializers.IntegerField(help_text="Logged searches (page 1 of a query).")
    clicks = serializers.IntegerField(help_text="Clicks on search results.")
    top_queries = QueryStatsSerializer(many=True)
    zero_result_queries = ZeroResultQuerySerializer(many=True)
    positions = PositionStatsSerializer(many=True)


SEARCH_ANALYTICS_EXAMPLE = {
    "since": "2025-05-01T12:00:00Z",
    "until": "2025-05-31T12:00:00Z",
    "searches": 1520,
    "clicks": 610,
    "top_queries": [
        {"query": "lipstick", "searches": 240, "clicks": 130, "click_through_rate": 0.5417}
    ],
    "zero_result_queries": [
        {"query": "lipstik matte", "searches": 12, "last_searched_at": "2025-05-30T18:02:11Z"}
    ],
    "positions": [
        {"position": 1, "impressions": 1400, "clicks": 290, "click_through_rate": 0.2071}
    ],
}


class SearchAnalyticsView(StaffView):
    required_permissions = {"GET": "shop.view_event"}

    @extend_schema(
        summary="Search analytics (staff)",
        parameters=[
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                description=f"The window, in days up to now: 1 to {MAX_DAYS} (default {DEFAULT_DAYS}).",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Rows of each query list: 1 to {MAX_TOP} (default {DEFAULT_TOP}).",
            ),
        ],
        responses={
            200: SearchAnalyticsSerializer,
            400: BAD_PARAMETERS,
            **staff_errors(),
        },
        examples=[
            OpenApiExample("Thirty days", value=SEARCH_ANALYTICS_EXAMPLE, response_only=True)
        ],
    )
    def get(self, request: Request) -> Response:
        """The most searched queries with their clicks and click-through rate (clicks per
        search), the most searched queries that found nothing, and click-through by
        position 1-20 (impressions are the logged searches whose first page showed a
        product there). Queries are compared lower-cased. Needs ``shop.view_event``."""
        days = int_param(request, "days", default=DEFAULT_DAYS, minimum=1, maximum=MAX_DAYS)
        limit = int_param(request, "limit", default=DEFAULT_TOP, minimum=1, maximum=MAX_TOP)
        analytics = search_analytics(days=days, limit=limit)
        return Response(SearchAnalyticsSerializer(analytics).data)


# --------------------------------------------------------------------------------- support


class StaffEventSerializer(MyEventSerializer):
    """One of a shopper's events as support sees it: also the stored ids and session."""

    class Meta(MyEventSerializer.Meta):
        fields = [*MyEventSerializer.Meta.fields, "client_event_id", "session_id", "received_at"]
        read_only_fields = fields


def _shopper_user(user_id: int):
    return get_object_or_404(get_user_model(), pk=user_id)


@extend_schema(
    summary="A shopper's event history (staff, support)",
    responses={200: StaffEventSerializer(many=True), **staff_errors(404)},
    examples=[
        OpenApiExample(
            "A view",
            value={
                "id": 918,
                "event_id": "e-7f3a",
                "type": "view",
                "product_id": 12,
                "sku": "RED-1",
                "value": None,
                "query": "",
                "position": None,
                "context": {},
                "source": "app",
                "occurred_at": "2025-05-30T18:02:11Z",
                "client_event_id": "u42:e-7f3a",
                "session_id": "",
                "received_at": "2025-05-30T18:02:12Z",
            },
            response_only=True,
        )
    ],
)
class ShopperHistoryView(StaffListView):
    """Every event of the shopper (user id), newest first, cursor-paginated (``next`` /
    ``previous`` links; ``page_size`` up to 200). 404 for an unknown user. Needs
    ``shop.view_event``."""

    required_permissions = {"GET": "shop.view_event"}
    serializer_class = StaffEventSerializer
    pagination_class = EventCursorPagination

    def get_queryset(self):
        user = _shopper_user(self.kwargs["user_id"])
        return shopper_events(shopper=Shopper(user_id=user.pk)).select_related("product")


class ShopperRecommendationsSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    personalized = serializers.BooleanField(
        help_text="False when the shopper opted out of personalization: they get the "
        "non-personalized answer, as shown."
    )
    results = ScoredProductSerializer(many=True)


class ShopperRecommendationsView(StaffView):
    required_permissions = {"GET": "shop.view_event"}

    @extend_schema(
        summary="What a shopper is recommended now (staff, support)",
        parameters=[LIMIT_RECOMMENDATIONS],
        responses={
            200: ShopperRecommendationsSerializer,
            400: BAD_PARAMETERS,
            **staff_errors(404),
        },
        examples=[
            OpenApiExample(
                "Personalized",
                value={
                    "user_id": 42,
                    "personalized": True,
                    "results": [
                        {
                            "id": 12,
                            "sku": "RED-1",
                            "title": "Red velvet lipstick",
                            "description": "",
                            "category": {"id": 3, "name": "Lipstick", "path": "Beauty > Lipstick"},
                            "brand": {"id": 1, "name": "Glowco"},
                            "price": "10.00",
                            "currency": "EUR",
                            "in_stock": True,
                            "image_url": "https://cdn.example.com/red-1.jpg",
                            "url": "https://shop.example.com/api/v1/products/12/",
                            "score": 0.87,
                            "reason": "Because you viewed Matte lipstick",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, user_id: int) -> Response:
        """The shopper's recommendations as the shop's personalizer answers them now
        (``shop.personalization.get_personalizer().recommend``), with the reasons, and
        respecting their opt-out. Needs ``shop.view_event``: the answer is derived from
        the shopper's events. 404 for an unknown user."""
        limit = recommendations_limit(request)
        user = _shopper_user(user_id)
        shopper = Shopper(user_id=user.pk, personalize=not shopper_opted_out(user_id=user.pk))
        with exposures_paused():  # staff asking are not the shopper seeing their arm
            items = get_personalizer().recommend(shopper=shopper, limit=limit)
        products = scored_products(items)[:limit]
        data = ShopperRecommendationsSerializer(
            {"user_id": user.pk, "personalized": shopper.personalize, "results": products},
            context={"request": request},
        ).data
        return Response(data)


urlpatterns = [
    path("staff/search-analytics/", SearchAnalyticsView.as_view(), name="staff-search-analytics"),
    path(
        "staff/shoppers/<int:user_id>/history/",
        ShopperHistoryView.as_view(),
        name="staff-shopper-history",
    ),
    path(
        "staff/shoppers/<int:user_id>/recommendations/",
        ShopperRecommendationsView.as_view(),
        name="staff-shopper-recommendations",
    ),
]
