"""The API's JSON renderer (orjson) renders what DRF's own renderer renders."""

import datetime
import decimal
import json
import uuid

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from shop.api.renderers import JSONRenderer

PAYLOADS = [
    {"query": "drill", "total": 3, "results": [{"id": 1, "price": "9.99", "score": 0.25}]},
    {"text": "Zoë's café — 東京, emoji 🔧", "empty": "", "none": None, "flag": True},
    {"line separators": "a\u2028b\u2029c"},
    {
        "aware": datetime.datetime(2026, 11, 29, 7, 30, 1, 123456, tzinfo=datetime.UTC),
        "naive": datetime.datetime(2026, 11, 29, 7, 30),  # noqa: DTZ001 - naive on purpose
        "date": datetime.date(2026, 11, 29),
        "time": datetime.time(7, 30, 15),
        "duration": datetime.timedelta(minutes=3),
    },
    {"decimal": decimal.Decimal("12.50"), "uuid": uuid.UUID(int=7), "lazy": gettext_lazy("Shop")},
    {"numpy": np.arange(3), "scalar": np.float32(0.5), "tuple": (1, 2), 5: "int key"},
    [1, 2.5, -0.0, 10**15, "x"],
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_the_bytes_are_drfs(data):
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_indented_output_is_drfs():
    data = {"a": [1, 2], "b": "c"}
    media = "application/json; indent=4"
    assert JSONRenderer().render(data, media, {}) == DRFJSONRenderer().render(data, media, {})
    assert b"\n    " in JSONRenderer().render(data, media, {})


def test_nothing_renders_as_nothing_and_nan_as_null():
    assert JSONRenderer().render(None) == b""
    assert json.loads(JSONRenderer().render({"score": float("nan")})) == {"score": None}


@pytest.mark.django_db
def test_the_api_answers_with_it(client):
    response = client.get("/api/v1/products/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.accepted_renderer, JSONRenderer)


def test_what_orjson_cannot_encode_is_rendered_by_drf():
    data = {"big": 2**70, "n": 1}
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_exponent_floats_are_the_same_numbers():
    data = {"score": 1e-7, "big": 1e22}
    assert json.loads(JSONRenderer().render(data)) == json.loads(DRFJSONRenderer().render(data))


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["image/png", ";d 'JY", "text/csv; q=1"])
def test_an_unsatisfiable_accept_header_gets_json(client, accept):
    response = client.get("/api/v1/products/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_an_explicit_unknown_format_is_still_refused(client):
    response = client.get("/api/v1/products/", {"format": "xml"})
    assert response.status_code == 404
