"""API v1: the app's event batch and the shopper's own events."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import APP_SOURCE, BAD_PARAMETERS, ApiView, EventIngestThrottle, int_param
from shop.api.serializers import (
    EventBatchResultSerializer,
    EventBatchSerializer,
    MyEventSerializer,
)
from shop.events.notify import events_recorded_notify
from shop.importers import (
    EVENT_COLUMNS_ORDER,
    FUTURE_TOLERANCE,
    MAX_EVENT_ID,
    EventRow,
    RowInvalid,
    insert_events,
    parse_event,
)
from shop.models import Event, Product
from shop.selectors import EVENT_WEIGHTS, shopper_events
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)

DEFAULT_MY_EVENTS = 50
MAX_MY_EVENTS = 200
MAX_BATCH = 500
MAX_BODY_BYTES = 5 * 1024 * 1024


class _Recorded(NamedTuple):
    """What events_recorded_notify reads of an event."""

    user_id: int | None
    session_id: str
    event_type: str


class EventBatchView(ApiView):
    """Batch event ingestion, the app's real ingestion path.

    Body ``{"events": [row, ...]}``, at most 500 rows. Each row is validated by
    ``shop.importers.parse_event`` (the file importers' rules) and written by
    ``shop.importers.insert_events``, idempotent on (source, event_id).

    Attribution:
    - a logged-in shopper: every row is theirs; ``user`` and ``source`` in the body are
      ignored (``session_id`` defaults to their session);
    - staff, or holders of ``shop.add_event`` (server-to-server ingestion): a row's
      ``user`` names any shopper by external id (unknown ids are created without a usable
      password, as the file importers do); a row with only ``session_id`` is an anonymous
      event; a row with neither is the caller's. ``source`` may be set (default "app");
    - anonymous callers: a row's ``session_id`` (the app's own anonymous id), else the
      caller's session, created when needed; ``user`` and ``source`` are ignored.
      No CSRF token is needed (SessionAuthentication checks CSRF for logged-in sessions
      only).

    Status codes:
    - 200: every row landed or was a duplicate (``errors`` is empty);
    - 207 (Multi-Status): some rows failed; the valid rows landed all the same, and
      ``errors`` names each failed row's index, field and reason;
    - 400: the body itself is malformed (not JSON, not an object, ``events`` missing or
      not a list, more than 500 rows); nothing was written;
    - 413: the body is over 5 MiB; 415: not JSON; 429: throttled (600/min per caller).

    Listeners of ``shop.signals.events_recorded`` hear about the new events after the
    commit, and the products' popularity counters are bumped as for storefront events.
    """

    parser_classes = [JSONParser]
    throttle_classes = [EventIngestThrottle]

    @extend_schema(
        summary="Record a batch of events",
        request=EventBatchSerializer,
        responses={
            200: OpenApiResponse(EventBatchResultSerializer, description="All rows stored."),
            207: OpenApiResponse(
                EventBatchResultSerializer, description="Some rows failed; the rest stored."
            ),
            400: OpenApiResponse(
                EventBatchResultSerializer, description="Malformed body; nothing stored."
            ),
            413: OpenApiResponse(EventBatchResultSerializer, description="Body too large."),
        },
    )
    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return self._malformed(
                "(body)",
                f"the body is larger than {MAX_BODY_BYTES} bytes",
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            body = request.data
        except ParseError as exc:
            return self._malformed("(body)", str(exc.detail))
        if not isinstance(body, dict):
            return self._malformed("(body)", "must be a JSON object with an events list")
        rows = body.get("events")
        if not isinstance(rows, list):
            return self._malformed("events", "is required and must be a list")
        if len(rows) > MAX_BATCH:
            return self._malformed("events", f"at most {MAX_BATCH} events per request")

        user = request.user
        authenticated = bool(user and user.is_authenticated)
        privileged = authenticated and (user.is_staff or user.has_perm("shop.add_event"))
        own_username = user.get_username() if authenticated else ""
        errors: list[dict] = []
        parsed: list[tuple[int, EventRow]] = []
        seen: set[tuple[str, str]] = set()
        duplicates = 0
        latest = timezone.now() + FUTURE_TOLERANCE

        for index, raw in enumerate(rows):
            if not isinstance(raw, dict):
                errors.append(_row_error(index, "(row)", "must be a JSON object"))
                continue
            row = dict(raw)
            if privileged:
                if _blank(row.get("user")) and _blank(row.get("session_id")):
                    row["user"] = own_username
            else:
                row.pop("source", None)
                row.pop("user", None)
                if authenticated:
                    row["user"] = own_username
                    if _blank(row.get("session_id")):
                        row["session_id"] = request.session.session_key or ""
                elif _blank(row.get("session_id")):
                    row["session_id"] = self._session_key(request)
            try:
                event = parse_event(row, default_source=APP_SOURCE, latest=latest)
            except RowInvalid as exc:
                errors.append(_row_error(index, exc.field, exc.reason))
                continue
            if not privileged:
                # A shopper's ids are theirs alone: scoped by the actor, another caller
                # who guesses them cannot make this shopper's events count as duplicates.
                actor = f"u{user.pk}" if authenticated else f"s{event.session_id}"
                event.client_event_id = f"{actor}:{event.client_event_id}"[:MAX_EVENT_ID]
            key = (event.source, event.client_event_id)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            parsed.append((index, event))

        products = dict(
            Product.objects.filter(sku__in={e.sku for _, e in parsed if e.sku}).values_list(
                "sku", "pk"
            )
        )
        users = {own_username: user.pk} if authenticated else {}
        if privileged:
            users.update(_users_by_name({e.username for _, e in parsed if e.username} - {""}))

        received_at = timezone.now()
        values: list[tuple] = []
        for index, event in parsed:
            product_id = products.get(event.sku) if event.sku else None
            if event.sku and product_id is None:
                errors.append(_row_error(index, "sku", f"unknown product {event.sku!r}"))
                continue
            columns = {
                "user_id": users.get(event.username) if event.username else None,
                "session_id": event.session_id,
                "product_id": product_id,
                "event_type": event.event_type,
                "value": event.value,
                "query": event.query,
                "position": event.position,
                "context": event.context,
                "source": event.source,
                "client_event_id": event.client_event_id,
                "occurred_at": event.occurred_at,
                "received_at": received_at,
            }
            values.append(tuple(columns[c] for c in EVENT_COLUMNS_ORDER))

        created = 0
        if values:
            with transaction.atomic():
                created = insert_events(values)
                duplicates += len(values) - created
                if created:
                    self._after_insert(values, received_at)

        errors.sort(key=lambda e: e["index"])
        result = {"created": created, "duplicates": duplicates, "errors": errors}
        return Response(
            EventBatchResultSerializer(result).data,
            status=status.HTTP_207_MULTI_STATUS if errors else status.HTTP_200_OK,
        )

    @staticmethod
    def _session_key(request: Request) -> str:
        if not request.session.session_key:
            request.session.save()
        return request.session.session_key

    @staticmethod
    def _after_insert(values: list[tuple], received_at) -> None:
        """Bump popularity and notify listeners for the rows this request inserted (the
        duplicates were counted when they first landed)."""
        source_at = EVENT_COLUMNS_ORDER.index("source")
        id_at = EVENT_COLUMNS_ORDER.index("client_event_id")
        by_source: dict[str, list[str]] = defaultdict(list)
        for row in values:
            by_source[row[source_at]].append(row[id_at])
        inserted: list[tuple] = []
        for source, ids in by_source.items():
            for start in range(0, len(ids), 900):
                inserted += Event.objects.filter(
                    source=source,
                    client_event_id__in=ids[start : start + 900],
                    received_at=received_at,
                ).values_list("product_id", "event_type", "user_id", "session_id")
        bumps: dict[int, int] = defaultdict(int)
        for product_id, event_type, _, _ in inserted:
            weight = EVENT_WEIGHTS.get(event_type, 0)
            if product_id and weight:
                bumps[product_id] += weight
        by_weight: dict[int, list[int]] = defaultdict(list)
        for product_id, weight in bumps.items():
            by_weight[weight].append(product_id)
        for weight, product_ids in by_weight.items():
            Product.objects.filter(pk__in=product_ids).update(popularity=F("popularity") + weight)
        events_recorded_notify(
            events=[
                _Recorded(user_id=user_id, session_id=session_id, event_type=event_type)
                for _, event_type, user_id, session_id in inserted
            ]
        )

    @staticmethod
    def _malformed(field: str, reason: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
        result = {"created": 0, "duplicates": 0, "errors": [_row_error(None, field, reason)]}
        return Response(EventBatchResultSerializer(result).data, status=code)


def _blank(value) -> bool:
    return value is None or not str(value).strip()


def _row_error(index: int | None, field: str, reason: str) -> dict:
    return {"index": index, "field": field, "reason": reason}


def _users_by_name(usernames: set[str]) -> dict[str, int]:
    """External user ids to user ids; unknown ones are created with no usable password
    (as the file importers do)."""
    if not usernames:
        return {}
    User = get_user_model()
    field = User.USERNAME_FIELD
    found = dict(User.objects.filter(**{f"{field}__in": usernames}).values_list(field, "pk"))
    missing = sorted(usernames - set(found))
    if missing:
        User.objects.bulk_create(
            [User(**{field: name}, password=make_password(None)) for name in missing],
            ignore_conflicts=True,
        )
        found.update(User.objects.filter(**{f"{field}__in": missing}).values_list(field, "pk"))
    return found


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
