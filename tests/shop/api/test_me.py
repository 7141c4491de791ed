"""API v1, the signed-in shopper's own data (shop.api.me): account, personalization,
recently viewed, events, export and deletion."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from shop import privacy
from shop.api.me_serializers import MeSerializer
from shop.models import Event, EventType, ShopperProfile
from shop.shoppers import OPT_OUT_SESSION_KEY, shopper_opted_out
from tests.factories import EventFactory, UserFactory
from tests.shop.api.helpers import (
    ME_DELETE_URL,
    ME_EXPORT_URL,
    ME_PERSONALIZATION_URL,
    ME_RECENTLY_VIEWED_URL,
    ME_URL,
    MY_EVENTS_URL,
    post_events,
    valid_rows,
)

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}


def post_json(client, url, data, **extra):
    return client.post(url, data=json.dumps(data), content_type="application/json", **extra)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", ME_URL),
        ("patch", ME_URL),
        ("post", ME_PERSONALIZATION_URL),
        ("get", ME_RECENTLY_VIEWED_URL),
        ("get", MY_EVENTS_URL),
        ("get", ME_EXPORT_URL),
        ("post", ME_DELETE_URL),
    ],
)
def test_anonymous_callers_of_me_get_401(client, method, url):
    response = getattr(client, method)(url, data={}, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# ---------------------------------------------------------------------------- account


def test_me_shows_my_account_with_a_token_or_a_session(client):
    me = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    UserFactory(email="other@example.com")

    response = client.get(ME_URL, **bearer(me))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == me.pk and body["username"] == me.username
    assert (body["email"], body["first_name"], body["last_name"]) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert body["personalization_enabled"] is True
    assert "password" not in body
    assert response["Cache-Control"] == "private, no-store"
    session = Client()
    session.force_login(me)
    assert session.get(ME_URL).json() == body


def test_patch_me_changes_email_and_names_only(client):
    me = UserFactory(email="ada@example.com", first_name="Ada")

    response = client.patch(
        ME_URL,
        data=json.dumps({"email": "ada@example.org", "last_name": "King", "username": "root"}),
        content_type="application/json",
        **bearer(me),
    )

    assert response.status_code == 200
    me.refresh_from_db()
    assert (me.email, me.first_name, me.last_name) == ("ada@example.org", "Ada", "King")
    assert me.username != "root"
    assert response.json()["email"] == "ada@example.org"


def test_patch_me_rejects_a_bad_email(client):
    me = UserFactory(email="ada@example.com")

    response = client.patch(
        ME_URL,
        data=json.dumps({"email": "not an email"}),
        content_type="application/json",
        **bearer(me),
    )

    assert response.status_code == 400
    assert set(response.json()["details"]) == {"email"}
    me.refresh_from_db()
    assert me.email == "ada@example.com"


# -------------------------------------------------------------------- personalization


def test_opting_out_and_back_in_forgets_the_cached_opt_out(client):
    me = UserFactory()
    assert shopper_opted_out(user_id=me.pk) is False  # now cached

    off = post_json(client, ME_PERSONALIZATION_URL, {"enabled": False}, **bearer(me))

    assert off.status_code == 200 and off.json() == {"enabled": False}
    assert ShopperProfile.objects.get(user=me).personalization_opt_out is True
    assert shopper_opted_out(user_id=me.pk) is True
    assert client.get(ME_URL, **bearer(me)).json()["personalization_enabled"] is False

    on = post_json(client, ME_PERSONALIZATION_URL, {"enabled": True}, **bearer(me))
    assert on.json() == {"enabled": True}
    assert shopper_opted_out(user_id=me.pk) is False


def test_opting_in_through_the_api_overrides_the_storefront_session_choice(client):
    me = UserFactory()
    client.force_login(me)
    client.post(reverse("shop:personalization"), {"opt_out": "1"})  # the storefront's form
    assert client.session[OPT_OUT_SESSION_KEY] is True

    post_json(client, ME_PERSONALIZATION_URL, {"enabled": True})

    assert client.session[OPT_OUT_SESSION_KEY] is False
    assert client.get(ME_URL).json()["personalization_enabled"] is True


@pytest.mark.parametrize("body", [{}, {"enabled": "maybe"}, {"enabled": None}])
def test_personalization_needs_a_boolean(client, body):
    response = post_json(client, ME_PERSONALIZATION_URL, body, **bearer(UserFactory()))

    assert response.status_code == 400
    assert set(response.json()["details"]) == {"enabled"}


# --------------------------------------------------------------------- recently viewed


def test_recently_viewed_lists_my_latest_distinct_active_products(client, catalogue):
    me, other = UserFactory(), UserFactory()
    now = timezone.now()
    red, matte, shampoo, gone = (catalogue[k] for k in ("red", "matte", "shampoo", "gone"))
    for minutes, product in [(50, red), (40, matte), (30, red), (20, gone), (10, shampoo)]:
        EventFactory(user=me, product=product, occurred_at=now - timedelta(minutes=minutes))
    EventFactory(
        user=me, product=matte, event_type=EventType.PURCHASE, occurred_at=now
    )  # not a view
    EventFactory(user=other, product=matte, occurred_at=now)

    response = client.get(ME_RECENTLY_VIEWED_URL, **bearer(me))

    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["SHAMPOO-1", "RED-1", "MATTE-1"]
    assert response["Cache-Control"] == "private, no-store"
    two = client.get(ME_RECENTLY_VIEWED_URL, {"limit": 2}, **bearer(me)).json()
    assert [p["sku"] for p in two] == ["SHAMPOO-1", "RED-1"]
    assert client.get(ME_RECENTLY_VIEWED_URL, {"limit": 0}, **bearer(me)).status_code == 400
    assert client.get(ME_RECENTLY_VIEWED_URL, **bearer(other)).json()[0]["sku"] == "MATTE-1"


# ------------------------------------------------------------------------- my events


def test_my_events_shows_only_my_own_events(client, catalogue, django_assert_max_num_queries):
    me, other = UserFactory(), UserFactory()
    now = timezone.now()
    EventFactory(user=me, product=catalogue["red"], occurred_at=now - timedelta(hours=2))
    mine_latest = EventFactory(
        user=me, product=catalogue["matte"], event_type=EventType.PURCHASE, occurred_at=now
    )
    EventFactory(user=None, session_id="anon", product=catalogue["red"], occurred_at=now)
    EventFactory(user=other, product=catalogue["red"], occurred_at=now)
    client.force_login(me)

    with django_assert_max_num_queries(4):  # session, user, events joined with products
        response = client.get(MY_EVENTS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None and body["previous"] is None
    events = body["results"]
    assert len(events) == 2
    assert events[0]["id"] == mine_latest.pk
    assert events[0]["type"] == "purchase"
    assert events[0]["sku"] == "MATTE-1"
    assert events[0]["event_id"] == mine_latest.client_event_id
    fields = "id event_id type product_id sku value query position context source occurred_at"
    assert set(events[0]) == set(fields.split())
    assert response["Cache-Control"] == "private, no-store"

    client.force_login(other)
    theirs = client.get(MY_EVENTS_URL).json()["results"]
    assert len(theirs) == 1 and theirs[0]["id"] not in {e["id"] for e in events}


def test_my_events_page_by_cursor_through_the_whole_history(client, catalogue):
    me = UserFactory()
    now = timezone.now()
    created = [
        EventFactory(user=me, product=catalogue["red"], occurred_at=now - timedelta(minutes=n))
        for n in range(260)
    ]
    # Two events at the same moment: the id breaks the tie, neither is lost.
    created.append(EventFactory(user=me, product=catalogue["red"], occurred_at=now))
    client.force_login(me)

    first = client.get(MY_EVENTS_URL).json()
    assert len(first["results"]) == 50  # the default page

    seen, url, params = [], MY_EVENTS_URL, {"page_size": 200}
    while url:
        page = client.get(url, params).json()
        seen += [e["id"] for e in page["results"]]
        url, params = page["next"], None
    assert len(seen) == len(created) == len(set(seen))
    ordered = sorted(created, key=lambda e: (e.occurred_at, e.pk), reverse=True)
    assert seen == [e.pk for e in ordered]


def test_my_events_bad_page_size_or_cursor_is_400(client, catalogue):
    me = UserFactory()
    EventFactory.create_batch(3, user=me, product=catalogue["red"])
    EventFactory(user=me, product=None, event_type=EventType.SEARCH, query="red")
    client.force_login(me)

    assert len(client.get(MY_EVENTS_URL, {"page_size": 2}).json()["results"]) == 2
    searches = [e for e in client.get(MY_EVENTS_URL).json()["results"] if e["type"] == "search"]
    assert searches[0]["sku"] is None and searches[0]["product_id"] is None
    for bad in ("0", "201", "abc"):
        response = client.get(MY_EVENTS_URL, {"page_size": bad})
        assert response.status_code == 400
        assert set(response.json()["details"]) == {"page_size"}
    response = client.get(MY_EVENTS_URL, {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"cursor"}


def test_events_posted_through_the_api_show_up_in_my_events(client, catalogue):
    client.force_login(UserFactory())
    post_events(client, valid_rows())

    body = client.get(MY_EVENTS_URL).json()["results"]

    assert {e["event_id"] for e in body} == {"e1", "e2", "e3", "e4"}


# ---------------------------------------------------------------------------- export


@pytest.fixture
def plugin_section():
    """A plugin's privacy section keeping rows per user id (as the recommender would)."""
    store = {}
    privacy.privacy_section_register(
        name="test_plugin",
        export=lambda user: store.get(user.pk, []),
        delete=lambda user: len(store.pop(user.pk, [])),
    )
    yield store
    privacy.privacy_section_unregister(name="test_plugin")


def test_export_streams_everything_stored_about_me(client, catalogue, plugin_section):
    me, other = UserFactory(email="ada@example.com"), UserFactory()
    ShopperProfile.objects.create(user=me, personalization_opt_out=True)
    now = timezone.now()
    mine = [
        EventFactory(user=me, product=catalogue["red"], occurred_at=now - timedelta(minutes=n))
        for n in range(5)
    ]
    EventFactory(user=other, product=catalogue["red"])
    plugin_section[me.pk] = [{"model_version": 3, "items": [[catalogue["red"].pk, 0.5]]}]
    plugin_section[other.pk] = [{"model_version": 3, "items": []}]

    response = client.get(ME_EXPORT_URL, **bearer(me))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(b"".join(response.streaming_content))
    assert data["account"]["email"] == "ada@example.com"
    assert data["account"]["id"] == me.pk
    assert "password" not in data["account"]
    assert data["profile"] == {"personalization_opt_out": True}
    assert [e["id"] for e in data["events"]] == [e.pk for e in reversed(mine)]
    assert data["events"][0]["sku"] == "RED-1" and data["events"][0]["type"] == "view"
    assert data["test_plugin"] == plugin_section[me.pk]


def test_export_has_no_row_cap(client, catalogue, monkeypatch):
    monkeypatch.setattr(privacy, "EXPORT_CHUNK_SIZE", 7)
    me = UserFactory()
    EventFactory.create_batch(30, user=me, product=catalogue["red"])

    response = client.get(ME_EXPORT_URL, **bearer(me))

    pieces = list(response.streaming_content)
    assert len(pieces) > 5  # streamed in chunks
    assert len(json.loads(b"".join(pieces))["events"]) == 30


# -------------------------------------------------------------------------- deletion


def test_delete_needs_my_password(client, catalogue):
    me = UserFactory()
    EventFactory(user=me, product=catalogue["red"])

    wrong = post_json(client, ME_DELETE_URL, {"password": "guess"}, **bearer(me))
    missing = post_json(client, ME_DELETE_URL, {}, **bearer(me))

    assert wrong.status_code == 403 and wrong.json()["code"] == "permission_denied"
    assert missing.status_code == 400 and set(missing.json()["details"]) == {"password"}
    assert get_user_model().objects.filter(pk=me.pk).exists()
    assert Event.objects.filter(user=me).count() == 1


def test_delete_removes_my_account_and_data_and_lists_it(client, catalogue, plugin_section):
    me, other = UserFactory(), UserFactory()
    ShopperProfile.objects.create(user=me)
    EventFactory.create_batch(3, user=me, product=catalogue["red"])
    theirs = EventFactory(user=other, product=catalogue["red"])
    plugin_section[me.pk] = [{"items": []}]
    plugin_section[other.pk] = [{"items": []}]
    refresh = RefreshToken.for_user(me)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {refresh.access_token}"}

    response = post_json(client, ME_DELETE_URL, {"password": PASSWORD}, **headers)

    assert response.status_code == 200
    deleted = response.json()["deleted"]
    # (Installed plugins, e.g. the recommender, add their own sections beside these.)
    assert (
        deleted.items()
        >= {
            "test_plugin": 1,
            "events": 3,
            "profile": 1,
            "refresh_tokens": 1,
            "account": 1,
        }.items()
    )
    assert not get_user_model().objects.filter(pk=me.pk).exists()
    assert not Event.objects.filter(user_id=me.pk).exists()
    assert not ShopperProfile.objects.filter(user_id=me.pk).exists()
    assert me.pk not in plugin_section and other.pk in plugin_section
    assert Event.objects.filter(pk=theirs.pk).exists()
    # The tokens are useless and gone: the access token names a user who is gone, the
    # refresh token is no longer stored and refreshing it is refused.
    assert client.get(ME_URL, **headers).status_code == 401
    assert not OutstandingToken.objects.filter(token=str(refresh)).exists()
    refreshed = post_json(client, reverse("v1:auth-token-refresh"), {"refresh": str(refresh)})
    assert refreshed.status_code == 401


def test_delete_by_session_ends_the_session(client, catalogue):
    me = UserFactory()
    client.force_login(me)

    response = post_json(client, ME_DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["deleted"]["events"] == 0
    assert client.get(ME_URL).status_code == 401


def test_patch_writes_only_the_fields_sent(client, monkeypatch):
    """A password changed while the PATCH runs is not written back."""
    me = UserFactory()
    client.force_login(me)
    validate = MeSerializer.is_valid

    def password_changed_meanwhile(self, *args, **kwargs):
        elsewhere = get_user_model().objects.get(pk=me.pk)
        elsewhere.set_password("Changed-Meanwhile-1")
        elsewhere.save()
        return validate(self, *args, **kwargs)

    monkeypatch.setattr(MeSerializer, "is_valid", password_changed_meanwhile)
    response = client.patch(
        ME_URL, data=json.dumps({"first_name": "Ada"}), content_type="application/json"
    )

    assert response.status_code == 200
    fresh = get_user_model().objects.get(pk=me.pk)
    assert fresh.first_name == "Ada" and fresh.check_password("Changed-Meanwhile-1")


def test_deleting_checks_the_password_under_the_sign_in_throttle(client, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "api_v1_auth": "1/min"}
    client.force_login(UserFactory())

    assert post_json(client, ME_DELETE_URL, {"password": "wrong-1"}).status_code == 403
    assert post_json(client, ME_DELETE_URL, {"password": "wrong-2"}).status_code == 429
