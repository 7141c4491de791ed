"""API v1: the signed-in shopper's own data: profile, personalization opt-out, recently
viewed, their events, export and deletion.

Every endpoint here needs a signed-in shopper (anonymous callers get 401) and reads or
changes only the caller's own data; every answer is ``Cache-Control: private,
no-store``. The work is done by shop.privacy (export, deletion, opt-out) and
shop.selectors (history)."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.auth import AuthRateThrottle
from shop.api.base import BAD_PARAMETERS, ApiView, V1Defaults, bad_request, int_param
from shop.api.catalogue import THROTTLED, integer_schema
from shop.api.conditional import PRIVATE_CACHE_CONTROL, PrivateResponse
from shop.api.examples import (
    DELETE_REQUEST_EXAMPLE,
    DELETED_EXAMPLE,
    EXPORT_EXAMPLE,
    ME_EXAMPLE,
    ME_PATCH_EXAMPLE,
    MY_EVENTS_EXAMPLE,
    PERSONALIZATION_OFF_EXAMPLE,
    PERSONALIZATION_STATE_EXAMPLE,
    PRODUCT_LIST_EXAMPLE,
)
from shop.api.me_serializers import (
    AccountDeletedSerializer,
    AccountDeleteSerializer,
    MeSerializer,
    PersonalizationSerializer,
)
from shop.api.serializers import ErrorSerializer, MyEventSerializer, ProductSerializer
from shop.privacy import (
    shopper_account_delete,
    shopper_data_export,
    shopper_personalization_set,
)
from shop.selectors import products_in_order, shopper_events, shopper_recently_viewed_product_ids
from shop.shoppers import OPT_OUT_SESSION_KEY, Shopper

DEFAULT_MY_EVENTS = 50
MAX_MY_EVENTS = 200
DEFAULT_RECENTLY_VIEWED = 20
MAX_RECENTLY_VIEWED = 50

NOT_SIGNED_IN = OpenApiResponse(
    ErrorSerializer, description="Not signed in (code not_authenticated)."
)


class MeView(PrivateResponse, ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="My account",
        responses={200: MeSerializer, 401: NOT_SIGNED_IN, 429: THROTTLED},
        examples=[ME_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """The signed-in shopper's account and whether personalization is on."""
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        summary="Change my account",
        request=MeSerializer,
        responses={200: MeSerializer, 400: BAD_PARAMETERS, 401: NOT_SIGNED_IN, 429: THROTTLED},
        examples=[ME_PATCH_EXAMPLE, ME_EXAMPLE],
    )
    def patch(self, request: Request) -> Response:
        """Change ``email``, ``first_name`` or ``last_name`` (the fields sent; the others
        stay). The username and personalization are not changed here (personalization:
        POST me/personalization/)."""
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class MyPersonalizationView(PrivateResponse, ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Turn personalization off or on",
        request=PersonalizationSerializer,
        responses={
            200: PersonalizationSerializer,
            400: BAD_PARAMETERS,
            401: NOT_SIGNED_IN,
            429: THROTTLED,
        },
        examples=[PERSONALIZATION_OFF_EXAMPLE, PERSONALIZATION_STATE_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        """``{"enabled": false}`` opts out of personalization: search and recommendations
        use the non-personalized order at once, on every device; ``true`` opts back in.
        The same setting as the storefront's (the shopper's profile)."""
        serializer = PersonalizationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        enabled = serializer.validated_data["enabled"]
        shopper_personalization_set(user=request.user, enabled=enabled)
        # A browser session remembers the storefront's choice; it must not contradict
        # the new one (shop.shoppers reads the session first).
        if OPT_OUT_SESSION_KEY in request.session:
            request.session[OPT_OUT_SESSION_KEY] = not enabled
        return Response({"enabled": enabled})


class MyRecentlyViewedView(PrivateResponse, ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="My recently viewed products",
        parameters=[
            OpenApiParameter(
                "limit",
                integer_schema(1, MAX_RECENTLY_VIEWED),
                description=f"1 to {MAX_RECENTLY_VIEWED} (default {DEFAULT_RECENTLY_VIEWED}).",
            )
        ],
        responses={
            200: ProductSerializer(many=True),
            400: BAD_PARAMETERS,
            401: NOT_SIGNED_IN,
            429: THROTTLED,
        },
        examples=[PRODUCT_LIST_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """The products the shopper viewed most recently, each once, newest first; only
        products still for sale."""
        limit = int_param(
            request,
            "limit",
            default=DEFAULT_RECENTLY_VIEWED,
            minimum=1,
            maximum=MAX_RECENTLY_VIEWED,
        )
        ids = shopper_recently_viewed_product_ids(
            shopper=Shopper(user_id=request.user.pk), limit=limit
        )
        products = products_in_order(product_ids=ids)
        return Response(ProductSerializer(products, many=True, context={"request": request}).data)


class EventCursorPagination(CursorPagination):
    """A shopper's events newest first, by cursor: stable while new events arrive, and as
    far back as the history goes. A malformed ``page_size`` or ``cursor`` is a 400. The
    shopper's own list and staff's view of it (shop.api.staff) both page this way."""

    ordering = ("-occurred_at", "-id")
    page_size = DEFAULT_MY_EVENTS
    page_size_query_param = "page_size"
    max_page_size = MAX_MY_EVENTS

    def get_page_size(self, request):
        return int_param(
            request,
            self.page_size_query_param,
            default=self.page_size,
            minimum=1,
            maximum=self.max_page_size,
        )

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise bad_request(self.cursor_query_param, "not a cursor of this list") from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = integer_schema(1, self.max_page_size)
                parameter["description"] = f"1 to {self.max_page_size} (default {self.page_size})."
        return parameters


@extend_schema(
    summary="My events",
    responses={
        200: MyEventSerializer(many=True),
        400: BAD_PARAMETERS,
        401: NOT_SIGNED_IN,
        429: THROTTLED,
    },
    examples=[MY_EVENTS_EXAMPLE],
)
class MyEventsView(PrivateResponse, V1Defaults, generics.ListAPIView):
    """The signed-in shopper's events, newest first; never anybody else's. Cursor
    paginated (``next`` and ``previous`` are links), 50 a page by default."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyEventSerializer
    pagination_class = EventCursorPagination

    def get_queryset(self):
        return shopper_events(shopper=Shopper(user_id=self.request.user.pk)).select_related(
            "product"
        )


class MyDataExportView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Export my data",
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Everything stored about the shopper: account, profile, every "
                "event (oldest first) and each plugin's section (e.g. recommendations).",
            ),
            401: NOT_SIGNED_IN,
            429: THROTTLED,
        },
        examples=[EXPORT_EXAMPLE],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """Everything the shop and its plugins store about the signed-in shopper, as one
        JSON object, streamed (no row cap: a long history is read in chunks)."""
        response = StreamingHttpResponse(
            shopper_data_export(user=request.user), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response


class MyAccountDeleteView(PrivateResponse, ApiView):
    permission_classes = [IsAuthenticated]
    # It checks a password: the sign-in throttle, not the read one, against guessing.
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        summary="Delete my account and data",
        request=AccountDeleteSerializer,
        responses={
            200: AccountDeletedSerializer,
            400: BAD_PARAMETERS,
            401: NOT_SIGNED_IN,
            429: THROTTLED,
            403: OpenApiResponse(ErrorSerializer, description="Wrong password."),
        },
        examples=[DELETE_REQUEST_EXAMPLE, DELETED_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        """Delete the signed-in shopper's account, their events, profile and every
        plugin's data about them (e.g. their recommendations), once they confirm with
        their password. The answer counts what was removed. Their tokens stop working
        (the user is gone) and a browser session is ended."""
        serializer = AccountDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        if not user.check_password(serializer.validated_data["password"]):
            raise PermissionDenied("The password is not right.")
        removed = shopper_account_delete(user=user)
        logout(request)
        return Response({"deleted": removed})


urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("me/personalization/", MyPersonalizationView.as_view(), name="me-personalization"),
    path("me/recently-viewed/", MyRecentlyViewedView.as_view(), name="me-recently-viewed"),
    path("me/events/", MyEventsView.as_view(), name="my-events"),
    path("me/export/", MyDataExportView.as_view(), name="me-export"),
    path("me/delete/", MyAccountDeleteView.as_view(), name="me-delete"),
]
