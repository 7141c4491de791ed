"""Every 4xx/5xx of the API answers {"code", "message", "details"}."""

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.exceptions import ValidationError

from shop.api.base import ApiView
from shop.api.errors import _flatten
from tests.shop.api.helpers import MY_EVENTS_URL, PRODUCTS_URL, RECOMMENDATIONS_URL


def assert_error_shape(response, status, code):
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


@pytest.mark.django_db
def test_bad_parameter_names_the_field(client):
    body = assert_error_shape(client.get(RECOMMENDATIONS_URL, {"limit": "0"}), 400, "invalid")
    assert list(body["details"]) == ["limit"]
    assert body["details"]["limit"] == ["must be a whole number from 1 to 50"]


@pytest.mark.django_db
def test_anonymous_on_a_shopper_endpoint_is_401_with_bearer_challenge(client):
    response = client.get(MY_EVENTS_URL)
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_unknown_product_unknown_endpoint_and_wrong_method(client):
    assert_error_shape(client.get(f"{PRODUCTS_URL}999999/"), 404, "not_found")
    assert_error_shape(client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error_shape(client.delete(PRODUCTS_URL), 405, "method_not_allowed")


@pytest.mark.django_db
def test_a_bad_token_is_401_token_not_valid(client):
    response = client.get(PRODUCTS_URL, HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_error_shape(response, 401, "token_not_valid")


def test_nested_validation_errors_flatten_to_dotted_fields():
    detail = ValidationError({"events": [{}, {"product": ["unknown"]}], "x": ["bad"]}).detail
    assert _flatten(detail) == {"events.1.product": ["unknown"], "x": ["bad"]}
    assert _flatten(ValidationError(["whole body"]).detail) == {"(body)": ["whole body"]}


class _Broken(ApiView):
    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [path("api/v1/broken/", _Broken.as_view())]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_an_unexpected_error_is_a_500_in_the_shape(client):
    client.raise_request_exception = False
    body = assert_error_shape(client.get("/api/v1/broken/"), 500, "server_error")
    assert "boom" not in body["message"]


@pytest.mark.django_db
def test_pages_outside_the_api_keep_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_a_malformed_device_id_is_a_400_on_any_endpoint(client):
    response = client.get(RECOMMENDATIONS_URL, HTTP_X_DEVICE_ID="bad")
    body = assert_error_shape(response, 400, "invalid")
    assert list(body["details"]) == ["X-Device-Id"]
