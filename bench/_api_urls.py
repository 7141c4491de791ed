"""The API load benchmark's URLconf: the project's own, plus a bare DRF endpoint.

``GET /api/v1/bench/bare/`` answers a constant through everything a v1 view shares
(``shop.api.base.ApiView``: versioning, JWT then session authentication, the read
throttle, the JSON renderer) and nothing else: the baseline that bench.api_load puts
the real endpoints beside. It is listed first, so resolving it costs the least; every
other path resolves as the project resolves it. Served only by the benchmark's
gunicorn (bench._api_settings), never by the project.
"""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from bench._api_traffic import BARE_PATH
from config.urls import handler404, handler500
from config.urls import urlpatterns as project_urlpatterns
from shop.api.base import ApiView

BARE_BODY = {"ok": True}


class BareView(ApiView):
    """A constant, behind the v1 stack. Outside the ``v1`` namespace (a second one
    would shadow the project's reverse()), so the versioning gives the default, v1."""

    def get(self, request: Request) -> Response:
        return Response(BARE_BODY)


urlpatterns = [
    path(BARE_PATH.lstrip("/"), BareView.as_view(), name="bench-bare"),
    *project_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
