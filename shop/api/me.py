"""API v1: the signed-in shopper's own data: profile, personalization opt-out, recently
viewed, their events, export and deletion."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import BAD_PARAMETERS, ApiView, int_param
from shop.api.serializers import MyEventSerializer
from shop.selectors import shopper_events
from shop.shoppers import Shopper

DEFAULT_MY_EVENTS = 50
MAX_MY_EVENTS = 200


class MyEventsView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The requesting shopper's own recent events",
        parameters=[
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"1 to {MAX_MY_EVENTS} (default {DEFAULT_MY_EVENTS}).",
            )
        ],
        responses={200: MyEventSerializer(many=True), 400: BAD_PARAMETERS, 403: None},
    )
    def get(self, request: Request) -> Response:
        """The logged-in shopper's events, newest first; never anybody else's. Anonymous
        callers get 403."""
        limit = int_param(
            request, "limit", default=DEFAULT_MY_EVENTS, minimum=1, maximum=MAX_MY_EVENTS
        )
        events = shopper_events(shopper=Shopper(user_id=request.user.pk)).select_related("product")[
            :limit
        ]
        return Response(MyEventSerializer(events, many=True).data)


urlpatterns = [
    path("me/events/", MyEventsView.as_view(), name="my-events"),
]
