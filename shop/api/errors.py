"""The API's one error shape, for every 4xx and 5xx:

    {"code": "invalid", "message": "Invalid input.", "details": {"limit": ["must be ..."]}}

``code`` is a stable machine-readable string (DRF's error codes: ``invalid``,
``parse_error``, ``not_authenticated``, ``authentication_failed``, ``token_not_valid``,
``permission_denied``, ``not_found``, ``method_not_allowed``, ``not_acceptable``,
``unsupported_media_type``, ``throttled``, ``too_large``, ``server_error``), ``message``
is for people, and ``details`` maps a field (dotted for nested input, ``events.3.product``)
to its reasons; it is ``{}`` when no field is at fault. A throttled answer carries
``Retry-After``.

``exception_handler`` is DRF's EXCEPTION_HANDLER; ``not_found`` and ``server_error``
answer Django's own 404 and 500 in the same shape under ``/api/`` (config.urls).
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from shop.shoppers import InvalidDeviceId

logger = logging.getLogger(__name__)

_MESSAGES = {
    "invalid": "Invalid input.",
    "server_error": "Something went wrong on our side; try again later.",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"code": code, "message": message, "details": details or {}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{dotted.field: [reason, ...]}``."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else "(body)"
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "(body)": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "(body)": [str(detail)]}


def _first_code(codes) -> str:
    while isinstance(codes, (dict, list)):
        if not codes:
            return "invalid"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def api_exception_body(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        return error_body("invalid", _MESSAGES["invalid"], _flatten(detail))
    if isinstance(detail, dict):  # e.g. simplejwt's {"detail", "code", "messages"}
        code = str(detail.get("code") or exc.default_code)
        message = str(detail.get("detail") or exc.default_detail)
        return error_body(code, message)
    return error_body(_first_code(exc.get_codes()), str(detail))


def exception_handler(exc, context):
    """DRF's handler (which sets ``Retry-After``, ``WWW-Authenticate`` and rolls back
    the transaction), with the body in the one shape; an unexpected exception is logged
    and answered as a 500 in that shape rather than Django's HTML page."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, InvalidDeviceId):
        exc = exceptions.ValidationError({exc.field: [exc.reason]})
    elif isinstance(exc, BadRequest):
        exc = exceptions.ValidationError({"(request)": [str(exc) or "Bad request."]})
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", _MESSAGES["server_error"]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.APIException):
        response.data = api_exception_body(exc)
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """Django's handler404: the error shape under /api/, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's handler500: the error shape under /api/, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", _MESSAGES["server_error"]), status=500)
    return defaults.server_error(request)
