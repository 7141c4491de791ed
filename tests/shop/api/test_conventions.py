"""API conventions beside the error shape: per-IP throttling of anonymous callers, CORS for
the app's origins, the documentation pages served offline, versioning."""

import re

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.shop.api.helpers import PRODUCTS_URL

pytestmark = pytest.mark.django_db


def test_anonymous_callers_are_throttled_per_ip_and_cannot_forge_it(catalogue, settings):
    settings.API_THROTTLE_RATES = {"api_v1_read": "2/min"}
    one, other = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")

    assert [one.get(PRODUCTS_URL).status_code for _ in range(2)] == [200, 200]
    forged = one.get(PRODUCTS_URL, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert forged.status_code == 429
    assert int(forged["Retry-After"]) > 0
    assert other.get(PRODUCTS_URL).status_code == 200

    signed_in = Client(REMOTE_ADDR="10.0.0.1")  # same IP, counted by user instead
    signed_in.force_login(UserFactory())
    assert signed_in.get(PRODUCTS_URL).status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_the_client(catalogue, settings):
    settings.API_THROTTLE_RATES = {"api_v1_read": "1/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = Client(REMOTE_ADDR="10.9.9.9")

    assert proxy.get(PRODUCTS_URL, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert proxy.get(PRODUCTS_URL, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
    assert proxy.get(PRODUCTS_URL, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_cors_allows_the_configured_app_origins_only(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = {
        "HTTP_ORIGIN": "https://app.example.com",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type, x-device-id",
    }
    allowed = client.options("/api/v1/events/", **preflight)
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-device-id" in allowed["Access-Control-Allow-Headers"]

    other = client.options(
        "/api/v1/events/", **{**preflight, "HTTP_ORIGIN": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in other

    page = client.get("/", HTTP_ORIGIN="https://app.example.com")  # the storefront: no CORS
    assert "Access-Control-Allow-Origin" not in page

    read = client.get(PRODUCTS_URL, HTTP_ORIGIN="https://app.example.com")
    assert "ETag" in read["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_their_assets_from_the_project(client, url):
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html)
    assert assets, "the page names its script"


def test_the_schema_documents_versioning_tokens_and_errors(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    description = schema["info"]["description"]
    for words in ("/api/v1/", "Bearer", "X-Device-Id", '"code"', "Retry-After", "If-None-Match"):
        assert words in description
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
