"""``/favicon.ico``: browsers ask for it whatever the pages link, so it redirects to the
shop's SVG icon under static files (its hashed name in production, served by WhiteNoise
with a far-future cache)."""

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

FAVICON = "shop/favicon.svg"
# A day: the hashed target changes when the icon does, so the redirect must not be permanent.
REDIRECT_MAX_AGE = 60 * 60 * 24


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Resolved per request, not at import: the manifest exists only after collectstatic.
    response = HttpResponseRedirect(static(FAVICON))
    patch_cache_control(response, public=True, max_age=REDIRECT_MAX_AGE)
    return response
