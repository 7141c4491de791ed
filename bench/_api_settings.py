"""The project's settings with the API load benchmark's URLconf (bench._api_urls: the
project's URLs plus a bare endpoint) and static files collected under var/bench/ (the
storefront's pages need the manifest that collectstatic writes, as in production).
Used only by the gunicorn that bench.api_load starts."""

from config.settings import *  # noqa: F403 (the project's settings, unchanged)
from config.settings import BASE_DIR

ROOT_URLCONF = "bench._api_urls"
STATIC_ROOT = BASE_DIR / "var" / "bench" / "api_load_static"
