"""The session engine: database-backed, cache in front, cache errors are misses."""

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME_URL = reverse("v1:my-events")
UNREACHABLE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": False},
}


def test_a_logged_in_request_reads_its_session_from_the_cache(client, django_assert_num_queries):
    client.force_login(UserFactory())
    assert client.get(ME_URL).status_code == 200
    with django_assert_num_queries(2):  # the user and their events; no session query
        assert client.get(ME_URL).status_code == 200


def test_shoppers_stay_logged_in_while_the_cache_is_down(client):
    client.force_login(UserFactory())
    with override_settings(CACHES={"default": UNREACHABLE}):
        assert client.get(ME_URL).status_code == 200
        client.logout()  # deleting the session with the cache down works too
    assert not Session.objects.exists()


def test_a_new_anonymous_session_is_created_while_the_cache_is_down(client):
    with override_settings(CACHES={"default": UNREACHABLE}):
        response = client.get(reverse("v1:search"), {"q": "anything"})
    assert response.status_code == 200
    assert Session.objects.count() == 1
