"""HTTP caching of the API's answers: ETag and Cache-Control on the catalogue reads (a
304 on a matching ``If-None-Match``), and ``private, no-store`` on personalized ones.

The ETag is a hash of the rendered body: no query to find a last-modified time, correct
whatever changed (a price, a category's name, the host the URLs were built for), at the
cost of rendering before answering 304. What a 304 saves is the transfer and the app's
parsing, which on a phone is what counts.
"""

from __future__ import annotations

import hashlib

from django.utils.cache import get_conditional_response, patch_vary_headers
from drf_spectacular.utils import OpenApiResponse

# Catalogue reads are the same for everybody: shared caches may keep them for a minute.
PUBLIC_CACHE_CONTROL = "public, max-age=60"
# Anything personalized or about the shopper: no cache keeps it.
PRIVATE_CACHE_CONTROL = "private, no-store"

NOT_MODIFIED = OpenApiResponse(
    description="Not Modified: the If-None-Match header named the current ETag; no body."
)


def body_etag(content: bytes) -> str:
    """A strong ETag of a rendered body."""
    return f'"{hashlib.blake2b(content, digest_size=16).hexdigest()}"'


class CacheableRead:
    """A view mixin: a successful GET/HEAD carries a strong ETag of its body and
    ``Cache-Control: public, max-age=60`` (``Vary: Accept``, as the renderer follows it);
    a request whose ``If-None-Match`` names that ETag gets an empty 304. Mixed in before
    the DRF view class."""

    cache_control = PUBLIC_CACHE_CONTROL

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        response.render()
        response["ETag"] = body_etag(response.content)
        response["Cache-Control"] = self.cache_control
        patch_vary_headers(response, ["Accept"])
        return get_conditional_response(request, etag=response["ETag"], response=response)


class PrivateResponse:
    """A view mixin: every answer is ``Cache-Control: private, no-store`` (personalized
    or about the shopper: neither shared caches nor the device keep it)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response
