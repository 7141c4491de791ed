"""The mobile app's REST API, version 1 (mounted under /api/v1/, NamespaceVersioning).

Thin views: parse the request, call the shop's services (search, personalizer, the
importers' event parser and writer), shape the answer. The shop never imports the
recommender; recommendations come through ``shop.personalization.get_personalizer``.

Authentication is Django's session only (the app logs in through /accounts/login/ and
keeps the session cookie; no token backend is installed). DRF's SessionAuthentication
enforces CSRF for session-authenticated unsafe requests only: an anonymous caller may
POST events without a CSRF token, a logged-in one sends the ``X-CSRFToken`` header.

Errors: invalid query parameters answer 400 ``{"errors": {parameter: reason}}``; an
unknown or inactive product 404; anonymous callers of shopper-only endpoints 403.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.versioning import NamespaceVersioning
from rest_framework.views import APIView

from shop.api.serializers import (
    AutocompleteResponseSerializer,
    EventBatchResultSerializer,
    EventBatchSerializer,
    FieldErrorsSerializer,
    MyEventSerializer,
    ProductSerializer,
    ScoredProductSerializer,
    SearchResponseSerializer,
)
from shop.caching import cache_count
from shop.importers import (
    EVENT_COLUMNS_ORDER,
    FUTURE_TOLERANCE,
    MAX_EVENT_ID,
    EventRow,
    RowInvalid,
    insert_events,
    parse_event,
)
from shop.models import Brand, Category, Event, EventType, Product
from shop.personalization import ScoredItem, get_personalizer
from shop.search import (
    MAX_PAGE_SIZE,
    SORTS,
    SearchInputError,
    SearchParams,
    search_autocomplete,
    search_log_context,
    search_products,
)
from shop.selectors import EVENT_WEIGHTS, products_in_order, shopper_events
from shop.services import event_record, events_recorded_notify
from shop.shoppers import Shopper, shopper_from_request

logger = logging.getLogger(__name__)

MAX_ID = 2**31 - 1
MAX_FILTER_IDS = 50
DEFAULT_RECOMMENDATIONS = 10
MAX_RECOMMENDATIONS = 50
DEFAULT_MY_EVENTS = 50
MAX_MY_EVENTS = 200
MAX_BATCH = 500
MAX_BODY_BYTES = 5 * 1024 * 1024
APP_SOURCE = "app"


# ------------------------------------------------------------------------ plumbing


class V1Versioning(NamespaceVersioning):
    """Namespace versioning (as configured) that knows v1 is the only version, so schema
    generation without an explicit version still lists these views."""

    default_version = "v1"
    allowed_versions = ("v1",)


class FailOpenThrottleMixin:
    """Throttling must never take the API down: with the cache unreachable (django-redis
    with IGNORE_EXCEPTIONS already answers misses) or any other cache error, let the
    request through."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("Throttle cache unavailable; request allowed", exc_info=True)
            return True


class CounterRateThrottle(UserRateThrottle):
    """DRF's per-user (else per-IP) rate, counted in fixed windows of the rate's
    period with one cache increment per request.

    DRF's own sliding window reads and rewrites a pickled list of up to ``rate``
    timestamps per caller: two cache round trips and a list of 1,200 floats at full
    rate, on every API request. A fixed window may let through up to twice the rate
    across a window boundary, which is enough against runaway clients.
    """

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        count = cache_count(f"{key}:{window}", timeout=self.duration + 1, backend=self.cache)
        if count is None:  # the cache is unavailable or ignores its errors
            return True
        self.wait_seconds = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self):
        return getattr(self, "wait_seconds", None)


class ReadThrottle(FailOpenThrottleMixin, CounterRateThrottle):
    """Per user (or client IP when anonymous); generous, against runaway clients."""

    scope = "api_v1_read"
    rate = "1200/min"


class EventIngestThrottle(FailOpenThrottleMixin, CounterRateThrottle):
    scope = "api_v1_events"
    rate = "600/min"


class V1Defaults:
    """What every v1 view shares: versioning, session authentication, throttling."""

    versioning_class = V1Versioning
    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [ReadThrottle]


class ApiView(V1Defaults, APIView):
    pass


def bad_request(field: str, reason: str) -> ValidationError:
    """A 400 answered as ``{"errors": {field: reason}}``."""
    return ValidationError({"errors": {field: reason}})


def int_param(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not (
        minimum <= int(raw) <= maximum
    ):
        raise bad_request(name, f"must be a whole number from {minimum} to {maximum}")
    return int(raw)


def id_list_param(request: Request, name: str) -> list[int]:
    """Ids given as repeated parameters and/or comma-separated (``?category=1,2``)."""
    ids: list[int] = []
    for raw in request.query_params.getlist(name):
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if not (part.isascii() and part.isdigit() and len(part) <= 10) or not (
                1 <= int(part) <= MAX_ID
            ):
                raise bad_request(name, f"{part[:40]!r} is not an id")
            ids.append(int(part))
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_FILTER_IDS:
        raise bad_request(name, f"at most {MAX_FILTER_IDS} ids")
    return ids


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


LIMIT_RECOMMENDATIONS = OpenApiParameter(
    "limit",
    OpenApiTypes.INT,
    description=f"How many products, 1 to {MAX_RECOMMENDATIONS} (default {DEFAULT_RECOMMENDATIONS}).",
)
BAD_PARAMETERS = OpenApiResponse(FieldErrorsSerializer, description="An invalid parameter.")


# ------------------------------------------------------------------------ products


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


# ------------------------------------------------------------------------ search


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
        """The storefront's search (shop.search.search_products) for the requesting
        shopper: filters, facets, sort and personalized order. Page 1 of a non-empty
        query records a ``search`` event, as the storefront does."""
        try:
            params = SearchParams.from_mapping(request.query_params)
            shopper = shopper_from_request(request, create_session=bool(params.query))
            result = search_products(params=params, shopper=shopper)
        except SearchInputError as error:
            raise bad_request(error.field, error.reason) from None
        search_event = None
        if params.query and result.page == 1:
            search_event = event_record(
                shopper=shopper,
                event_type=EventType.SEARCH,
                query=params.query,
                context=search_log_context(result),
                source=APP_SOURCE,
            )
        products = []
        for hit in result.hits:
            hit.product.score = hit.score
            hit.product.reason = hit.reason
            products.append(hit.product)
        payload = {
            "query": params.query,
            "total": result.total,
            "page": result.page,
            "num_pages": result.num_pages,
            "personalized": result.personalized,
            "did_you_mean": result.did_you_mean,
            "corrected_query": result.corrected_query,
            "search_event_id": search_event.pk if search_event else None,
            "results": products,
            "facets": result.facets,
        }
        return Response(SearchResponseSerializer(payload, context={"request": request}).data)


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


# ------------------------------------------------------------------------ recommendations


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


# ------------------------------------------------------------------------ events


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


# ------------------------------------------------------------------------ my events


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


__all__ = [
    "EventBatchView",
    "MyEventsView",
    "ProductDetailView",
    "ProductListView",
    "RecommendationsView",
    "SearchView",
    "SimilarProductsView",
]
