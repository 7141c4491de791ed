"""The mobile app's REST API, version 1 (mounted under /api/v1/, NamespaceVersioning).

Thin views: parse the request, call the shop's services (search, personalizer, the
importers' event parser and writer), shape the answer. The shop never imports the
recommender; recommendations come through ``shop.personalization.get_personalizer``.

Authentication: a JWT access token (``Authorization: Bearer``, shop.api.auth) or the
browser's session. DRF's SessionAuthentication enforces CSRF for session-authenticated
unsafe requests only: an anonymous caller may POST events without a CSRF token, a
logged-in one sends the ``X-CSRFToken`` header.

Errors: every 4xx/5xx is ``{"code", "message", "details"}`` (shop.api.errors); an invalid
query parameter is a 400 with ``details: {parameter: [reason]}``; an unknown or inactive
product 404; anonymous callers of shopper-only endpoints 401.

This module holds what every v1 view shares: versioning, throttles, parameter parsing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle
from rest_framework.versioning import NamespaceVersioning
from rest_framework.views import APIView

from shop.api.authentication import ShopperJWTAuthentication
from shop.api.serializers import ErrorSerializer
from shop.caching import cache_count

logger = logging.getLogger(__name__)
MAX_ID = 2**31 - 1
# The event source of everything the app sends or causes.
APP_SOURCE = "app"
MAX_FILTER_IDS = 50


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
    # The rate of the throttle's scope in settings.API_THROTTLE_RATES (environment:
    # API_RATE_<SCOPE>), else this default.
    default_rate: str | None = None

    """DRF's per-user (else per-IP) rate, counted in fixed windows of the rate's
    period with one cache increment per request.

    DRF's own sliding window reads and rewrites a pickled list of up to ``rate``
    timestamps per caller: two cache round trips and a list of 1,200 floats at full
    rate, on every API request. A fixed window may let through up to twice the rate
    across a window boundary, which is enough against runaway clients.
    """

    def get_rate(self):
        return getattr(settings, "API_THROTTLE_RATES", {}).get(self.scope, self.default_rate)

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
    default_rate = "1200/min"


class EventIngestThrottle(FailOpenThrottleMixin, CounterRateThrottle):
    scope = "api_v1_events"
    default_rate = "600/min"


class V1Defaults:
    """What every v1 view shares: versioning, authentication (token first, so an
    anonymous caller of a protected endpoint gets 401 with ``WWW-Authenticate: Bearer``),
    throttling."""

    versioning_class = V1Versioning
    authentication_classes = [ShopperJWTAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [ReadThrottle]


class ApiView(V1Defaults, APIView):
    pass


def bad_request(field: str, reason: str) -> ValidationError:
    """A 400 answered as ``{"code": "invalid", ..., "details": {field: [reason]}}``."""
    return ValidationError({field: [reason]})


def _is_id_sized_number(raw: str) -> bool:
    """ASCII digits only (no sign, no Unicode digits), at most ten of them."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 10


def int_param(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (_is_id_sized_number(raw) and minimum <= int(raw) <= maximum):
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
            if not (_is_id_sized_number(part) and 1 <= int(part) <= MAX_ID):
                raise bad_request(name, f"{part[:40]!r} is not an id")
            ids.append(int(part))
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_FILTER_IDS:
        raise bad_request(name, f"at most {MAX_FILTER_IDS} ids")
    return ids


BAD_PARAMETERS = OpenApiResponse(ErrorSerializer, description="An invalid parameter.")
