"""API v1: the app's event batch and the shopper's own events."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.auth import DEVICE_PARAMETER
from shop.api.base import APP_SOURCE, ApiView, EventIngestThrottle
from shop.api.errors import error_body
from shop.api.serializers import (
    ErrorSerializer,
    EventBatchResultSerializer,
    EventBatchSerializer,
)
from shop.events.attribution import EventCaller
from shop.events.batch import event_batch_record
from shop.shoppers import device_session_from_request

DEFAULT_MY_EVENTS = 50
MAX_MY_EVENTS = 200
MAX_BATCH = 500
ALL_STORED = {"created": 2, "duplicates": 0, "errors": []}
MAX_BODY_BYTES = 5 * 1024 * 1024


class EventBatchView(ApiView):
    """Batch event ingestion, the app's real ingestion path.

    Body ``{"events": [row, ...]}``, at most 500 rows, stored by
    ``shop.events.batch.event_batch_record``: each row validated by the file importers'
    rules (``shop.events.validation.parse_event``), idempotent on (source, event_id).

    Attribution:
    - a logged-in shopper: every row is theirs; ``user`` and ``source`` in the body are
      ignored (``session_id`` defaults to their session);
    - holders of ``shop.add_event`` (server-to-server ingestion; a superuser has it): a row's
      ``user`` names any shopper by external id (unknown ids are created without a usable
      password, as the file importers do); a row with only ``session_id`` is an anonymous
      event; a row with neither is the caller's. ``source`` may be set (default "app");
    - anonymous callers: a row's ``session_id`` (the app's own anonymous id), else the
      device's session ``"device:<X-Device-Id>"`` when the header is sent (no Django
      session is created then), else the caller's session, created when needed;
      ``user`` and ``source`` are ignored.
      No CSRF token is needed (SessionAuthentication checks CSRF for logged-in sessions
      only).

    Status codes:
    - 200: every row landed or was a duplicate (``errors`` is empty);
    - 207 (Multi-Status): some rows failed; the valid rows landed all the same, and
      ``errors`` names each failed row's index, field and reason;
    - 400: the body itself is malformed (not JSON, not an object, ``events`` missing or
      not a list, more than 500 rows), or ``X-Device-Id`` is; nothing was written;
    - 413: the body is over 5 MiB; 415: not JSON; 429: throttled (600/min per caller).

    Listeners of ``shop.signals.events_recorded`` hear about the new events after the
    commit; products' popularity follows within the refresh task's 10 minutes
    (shop.popularity).
    """

    parser_classes = [JSONParser]
    throttle_classes = [EventIngestThrottle]

    @extend_schema(
        summary="Record a batch of events",
        parameters=[DEVICE_PARAMETER],
        request=EventBatchSerializer,
        responses={
            200: OpenApiResponse(EventBatchResultSerializer, description="All rows stored."),
            207: OpenApiResponse(
                EventBatchResultSerializer, description="Some rows failed; the rest stored."
            ),
            400: OpenApiResponse(ErrorSerializer, description="Malformed body; nothing stored."),
            413: OpenApiResponse(ErrorSerializer, description="Body too large."),
        },
        examples=[
            OpenApiExample(
                "A view and a purchase",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "6f1c-0001",
                            "type": "view",
                            "sku": "RED-1",
                            "occurred_at": "2026-11-30T09:15:02Z",
                        },
                        {
                            "event_id": "6f1c-0002",
                            "type": "purchase",
                            "sku": "RED-1",
                            "value": 1,
                            "occurred_at": "2026-11-30T09:17:40Z",
                        },
                    ]
                },
            ),
            OpenApiExample(
                "All stored", response_only=True, status_codes=["200"], value=ALL_STORED
            ),
            OpenApiExample(
                "One row refused",
                response_only=True,
                status_codes=["207"],
                value={
                    "created": 1,
                    "duplicates": 0,
                    "errors": [{"index": 1, "field": "sku", "reason": "unknown product 'NOPE-1'"}],
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        try:
            items = _batch_items(request)
        except _Malformed as malformed:
            return malformed.response
        result = event_batch_record(items=items, caller=_caller(request), default_source=APP_SOURCE)
        return Response(
            EventBatchResultSerializer(result).data,
            status=status.HTTP_207_MULTI_STATUS if result.errors else status.HTTP_200_OK,
        )


class _Malformed(Exception):
    """The body as a whole is refused; nothing is written. Answered in the API's error
    shape (shop.api.errors)."""

    def __init__(self, field: str, reason: str, code: int = status.HTTP_400_BAD_REQUEST):
        super().__init__(reason)
        if code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
            body = error_body("too_large", reason, {field: [reason]})
        else:
            body = error_body("invalid", "The body is not an event batch.", {field: [reason]})
        self.response = Response(body, status=code)


def _batch_items(request: Request) -> list:
    """The body's ``events`` list; _Malformed when the body is not a batch."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _Malformed(
            "(body)",
            f"the body is larger than {MAX_BODY_BYTES} bytes",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    try:
        body = request.data
    except ParseError as exc:
        raise _Malformed("(body)", str(exc.detail)) from None
    if not isinstance(body, dict):
        raise _Malformed("(body)", "must be a JSON object with an events list")
    items = body.get("events")
    if not isinstance(items, list):
        raise _Malformed("events", "is required and must be a list")
    if len(items) > MAX_BATCH:
        raise _Malformed("events", f"at most {MAX_BATCH} events per request")
    return items


def _caller(request: Request) -> EventCaller:
    user = request.user
    if user and user.is_authenticated:
        return EventCaller(
            user_id=user.pk,
            username=user.get_username(),
            privileged=user.has_perm("shop.add_event"),
            session_key=lambda: request.session.session_key or "",
        )
    device = device_session_from_request(request)
    return EventCaller(
        user_id=None,
        username="",
        privileged=False,
        session_key=lambda: device or _session_key(request),
    )


def _session_key(request: Request) -> str:
    """The anonymous caller's Django session key, the session created when needed."""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key
