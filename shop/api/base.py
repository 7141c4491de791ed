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

This module holds what every v1 view shares: versioning, throttles, parameter parsing.
"""

from __future__ import annotations

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.versioning import NamespaceVersioning
from rest_framework.views import APIView

from shop.api.serializers import (
    FieldErrorsSerializer,
)
from shop.caching import cache_count
from shop.models import Product
from shop.personalization import ScoredItem
from shop.selectors import products_in_order

logger = logging.getLogger(__name__)
MAX_ID = 2**31 - 1
# The event source of everything the app sends or causes.
APP_SOURCE = "app"
MAX_FILTER_IDS = 50
DEFAULT_RECOMMENDATIONS = 10
MAX_RECOMMENDATIONS = 50


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
