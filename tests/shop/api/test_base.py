"""What every API v1 view shares: session authentication and CSRF, throttles (fixed
windows, fail open) and the OpenAPI schema."""

import json

import pytest
import yaml
from django.core.management import call_command
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator

from shop.api import base as api_base
from tests.factories import UserFactory
from tests.shop.api.helpers import PRODUCTS_URL, post_events, valid_rows

pytestmark = pytest.mark.django_db


def test_csrf_is_needed_for_logged_in_sessions_only(catalogue):
    rows = valid_rows()
    anonymous = Client(enforce_csrf_checks=True)
    assert post_events(anonymous, rows[:1]).status_code == 200

    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(UserFactory())
    assert post_events(logged_in, rows[1:2]).status_code == 403

    token = "a" * 32
    logged_in.cookies["csrftoken"] = token
    assert post_events(logged_in, rows[1:2], HTTP_X_CSRFTOKEN=token).status_code == 200


def test_event_ingestion_is_throttled(client, catalogue, settings):
    settings.API_THROTTLE_RATES = {"api_v1_events": "2/min"}

    assert post_events(client, []).status_code == 200
    assert post_events(client, []).status_code == 200
    assert post_events(client, []).status_code == 429


def test_read_throttle_counts_each_caller_in_fixed_windows(
    client, catalogue, monkeypatch, settings
):
    settings.API_THROTTLE_RATES = {"api_v1_read": "2/min"}
    now = [6000.0]
    monkeypatch.setattr(api_base.ReadThrottle, "timer", lambda self: now[0])
    other = Client()
    other.force_login(UserFactory())

    assert [client.get(PRODUCTS_URL).status_code for _ in range(2)] == [200, 200]
    now[0] += 15
    refused = client.get(PRODUCTS_URL)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"  # until the window ends
    assert refused.json()["code"] == "throttled"
    assert other.get(PRODUCTS_URL).status_code == 200  # counted per caller

    now[0] += 45  # the next window
    assert client.get(PRODUCTS_URL).status_code == 200


UNREACHABLE_REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


@pytest.mark.parametrize("ignore_exceptions", [True, False])
def test_throttling_survives_redis_being_down(client, catalogue, ignore_exceptions):
    cache = {
        **UNREACHABLE_REDIS,
        "OPTIONS": {**UNREACHABLE_REDIS["OPTIONS"], "IGNORE_EXCEPTIONS": ignore_exceptions},
    }
    with override_settings(CACHES={"default": cache}):
        response = post_events(client, valid_rows())
        products = client.get(PRODUCTS_URL)

    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert products.status_code == 200


# ----------------------------------------------------------------------------- schema


def test_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) >= {
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/products/{id}/similar/",
        "/api/v1/search/",
        "/api/v1/recommendations/",
        "/api/v1/events/",
        "/api/v1/me/events/",
    }
    events = schema["paths"]["/api/v1/events/"]["post"]
    assert {"200", "207", "400"} <= set(events["responses"])
    assert "requestBody" in events


def test_schema_endpoint_serves_the_v1_paths(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert "/api/v1/search/" in json.loads(response.content)["paths"]


def test_every_operation_is_documented_with_examples_and_errors():
    """A new endpoint without a description, an example of its body and of its answer,
    or its error answers fails here."""
    schema = SchemaGenerator(api_version="v1").get_schema(request=None, public=True)
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            answers = [
                content
                for status, response in responses.items()
                if status.startswith("2")
                for content in response.get("content", {}).values()
            ]
            body = operation.get("requestBody", {}).get("content", {}).values()
            if not operation.get("description"):
                missing.append((method, path, "description"))
            if answers and not any("examples" in content for content in answers):
                missing.append((method, path, "answer example"))
            if body and not any("examples" in content for content in body):
                missing.append((method, path, "body example"))
            if "429" not in responses or not any(status[0] == "4" for status in responses):
                missing.append((method, path, "error answers"))
    assert missing == []
