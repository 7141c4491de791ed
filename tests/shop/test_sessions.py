"""The session engine: database-backed, cache in front, cache errors are misses; app
devices (``X-Device-Id``) are known without one."""

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from shop.models import Event
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


def test_an_app_device_is_known_without_a_session(client):
    response = client.get(reverse("v1:search"), {"q": "anything"}, HTTP_X_DEVICE_ID="phone-1234")

    assert response.status_code == 200
    assert not Session.objects.exists()
    search = Event.objects.get(event_type="search")
    assert (search.user_id, search.session_id) == (None, "device:phone-1234")


def test_a_browser_without_a_device_id_still_gets_a_session(client):
    client.get(reverse("v1:search"), {"q": "anything"}, HTTP_X_DEVICE_ID="")

    assert Event.objects.get(event_type="search").session_id == client.session.session_key
    assert Session.objects.count() == 1


def test_a_malformed_device_id_on_a_storefront_page_is_a_400_not_a_500(client):
    response = client.get(reverse("shop:search"), {"q": "anything"}, HTTP_X_DEVICE_ID="no")

    assert response.status_code == 400
    assert not Event.objects.exists()
