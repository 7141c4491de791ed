"""API v1 auth: sign-up, token sign-in, rotation, sign-out, password change, the per-IP
throttle, and the device's history joining the shopper at sign-in.

Requests go through the real URLconf and middleware; the test client re-raises any
exception of a view, so a 500 fails the test.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shop.models import Event, ShopperProfile
from shop.signals import events_recorded
from tests.factories import ProductFactory, UserFactory
from tests.shop.api.helpers import MY_EVENTS_URL, RECOMMENDATIONS_URL

pytestmark = pytest.mark.django_db

SIGN_UP_URL = reverse("v1:auth-sign-up")
TOKEN_URL = reverse("v1:auth-token")
REFRESH_URL = reverse("v1:auth-token-refresh")
SIGN_OUT_URL = reverse("v1:auth-sign-out")
PASSWORD_URL = reverse("v1:auth-password")
PASSWORD = "pass-word-123"  # UserFactory's
DEVICE = "phone-7f3a9c"


def post(client, url, body, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def bearer(access):
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def sign_in(client, user, **extra):
    response = post(client, TOKEN_URL, {"username": user.username, "password": PASSWORD}, **extra)
    assert response.status_code == 200, response.content
    return response.json()


def anonymous_event(session_id, product, event_id="d1"):
    return Event.objects.create(
        session_id=session_id,
        product=product,
        event_type="view",
        source="app",
        client_event_id=event_id,
        occurred_at=timezone.now(),
    )


# ------------------------------------------------------------------------------ sign-up


def test_sign_up_creates_a_shopper_and_signs_them_in(client):
    response = post(
        client,
        SIGN_UP_URL,
        {"username": "ada", "email": "ada@example.com", "password": "w1nter-tulip"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    user = get_user_model().objects.get(username="ada")
    assert body["user"] == {"id": user.pk, "username": "ada", "email": "ada@example.com"}
    assert user.check_password("w1nter-tulip") and user.is_active and not user.is_staff
    assert ShopperProfile.objects.filter(user=user, personalization_opt_out=False).exists()
    assert client.get(MY_EVENTS_URL, **bearer(body["access"])).status_code == 200
    assert post(client, REFRESH_URL, {"refresh": body["refresh"]}).status_code == 200


def test_sign_up_names_every_field_at_fault(client):
    UserFactory(username="ada")

    response = post(
        client, SIGN_UP_URL, {"username": "ada", "email": "not-an-email", "password": "12345678"}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["details"]) == {"email"}  # the serializer's checks come first

    response = post(
        client, SIGN_UP_URL, {"username": "ada", "email": "ada@example.com", "password": "12345678"}
    )
    details = response.json()["details"]
    assert response.status_code == 400
    assert details["username"] == ["A user with that username already exists."]
    assert any("common" in reason for reason in details["password"])
    assert any("numeric" in reason for reason in details["password"])
    assert get_user_model().objects.filter(username="ada").count() == 1


def test_sign_up_needs_username_email_and_password(client):
    response = post(client, SIGN_UP_URL, {})

    assert response.status_code == 400
    assert set(response.json()["details"]) == {"username", "email", "password"}
    assert not get_user_model().objects.exists()


# ------------------------------------------------------------------------------ sign-in


def test_sign_in_returns_a_working_token_pair(client):
    user = UserFactory()

    pair = sign_in(client, user)

    assert set(pair) == {"access", "refresh"}
    anonymous = Client()
    assert anonymous.get(MY_EVENTS_URL).status_code == 401
    assert anonymous.get(MY_EVENTS_URL, **bearer(pair["access"])).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "inactive"])
def test_wrong_credentials_are_401_no_active_account(client, case):
    user = UserFactory(is_active=case != "inactive")
    username = "nobody" if case == "unknown user" else user.username
    password = "wrong-password" if case == "wrong password" else PASSWORD

    response = post(client, TOKEN_URL, {"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == {
        "code": "no_active_account",
        "message": "No active account found with the given credentials",
        "details": {},
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_bearer_header_does_not_stop_sign_in(client):
    user = UserFactory()

    pair = sign_in(client, user, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert pair["access"]


def test_sign_in_and_sign_up_are_throttled_per_ip(client, settings):
    settings.API_THROTTLE_RATES = {"api_v1_auth": "2/min"}
    user = UserFactory()
    wrong = {"username": user.username, "password": "guess"}

    assert post(client, TOKEN_URL, wrong).status_code == 401
    assert post(client, SIGN_UP_URL, {}).status_code == 400  # the same count
    refused = post(client, TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Per client IP, signed in or not: another address still gets in.
    assert post(client, TOKEN_URL, wrong, REMOTE_ADDR="10.0.0.9").status_code == 401


# ------------------------------------------------------------------------ refresh, sign-out


def test_refresh_rotates_and_the_old_refresh_token_is_dead(client):
    pair = sign_in(client, UserFactory())

    response = post(client, REFRESH_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"} and rotated["refresh"] != pair["refresh"]
    assert client.get(MY_EVENTS_URL, **bearer(rotated["access"])).status_code == 200
    reused = post(client, REFRESH_URL, {"refresh": pair["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"
    assert post(client, REFRESH_URL, {"refresh": rotated["refresh"]}).status_code == 200


@pytest.mark.parametrize("how", ["deleted", "deactivated"])
def test_refresh_tokens_of_a_gone_shopper_are_refused(client, how):
    user = UserFactory()
    pair = sign_in(client, user)
    if how == "deleted":
        user.delete()
    else:
        user.is_active = False
        user.save()

    response = post(client, REFRESH_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_a_malformed_refresh_token_is_refused(client, token):
    response = post(client, REFRESH_URL, {"refresh": token})

    assert response.status_code in (400, 401)
    assert response.json()["code"] in ("invalid", "token_not_valid")


def test_sign_out_revokes_the_refresh_token(client):
    pair = sign_in(client, UserFactory())

    response = post(client, SIGN_OUT_URL, {"refresh": pair["refresh"]}, **bearer(pair["access"]))

    assert response.status_code == 204
    assert post(client, REFRESH_URL, {"refresh": pair["refresh"]}).status_code == 401
    again = post(client, SIGN_OUT_URL, {"refresh": pair["refresh"]}, **bearer(pair["access"]))
    assert again.status_code == 400 and "refresh" in again.json()["details"]


def test_sign_out_needs_a_signed_in_caller_and_their_own_token(client):
    mine, theirs = sign_in(client, UserFactory()), sign_in(client, UserFactory())

    anonymous = post(client, SIGN_OUT_URL, {"refresh": mine["refresh"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"
    other = post(client, SIGN_OUT_URL, {"refresh": theirs["refresh"]}, **bearer(mine["access"]))
    assert other.status_code == 400
    assert other.json()["details"] == {"refresh": ["This refresh token is not the caller's."]}
    assert post(client, REFRESH_URL, {"refresh": theirs["refresh"]}).status_code == 200


# ------------------------------------------------------------------------ password change


def test_password_change_revokes_earlier_tokens_and_answers_a_fresh_pair(client):
    user = UserFactory()
    first, second = sign_in(client, user), sign_in(client, user)  # two devices

    response = post(
        client,
        PASSWORD_URL,
        {"old_password": PASSWORD, "new_password": "summer-orchid-7"},
        **bearer(first["access"]),
    )

    assert response.status_code == 200, response.content
    fresh = response.json()
    user.refresh_from_db()
    assert user.check_password("summer-orchid-7")
    for old in (first, second):
        refused = client.get(MY_EVENTS_URL, **bearer(old["access"]))
        assert refused.status_code == 401
        assert refused.json()["code"] == "password_changed"
        assert post(client, REFRESH_URL, {"refresh": old["refresh"]}).status_code == 401
    assert client.get(MY_EVENTS_URL, **bearer(fresh["access"])).status_code == 200
    assert post(client, REFRESH_URL, {"refresh": fresh["refresh"]}).status_code == 200


def test_a_refresh_token_from_before_a_password_change_elsewhere_is_refused(client):
    user = UserFactory()
    pair = sign_in(client, user)
    user.set_password("changed-in-the-admin-9")  # not through the API: nothing blacklisted
    user.save()

    response = post(client, REFRESH_URL, {"refresh": pair["refresh"]})

    assert response.status_code == 401
    assert response.json()["code"] == "password_changed"


def test_password_change_checks_the_old_password_and_the_validators(client):
    user = UserFactory()
    pair = sign_in(client, user)

    wrong = post(
        client,
        PASSWORD_URL,
        {"old_password": "nope", "new_password": "summer-orchid-7"},
        **bearer(pair["access"]),
    )
    weak = post(
        client,
        PASSWORD_URL,
        {"old_password": PASSWORD, "new_password": "123"},
        **bearer(pair["access"]),
    )

    assert wrong.status_code == 400
    assert wrong.json()["details"] == {"old_password": ["The old password is not correct."]}
    assert weak.status_code == 400
    assert set(weak.json()["details"]) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert client.get(MY_EVENTS_URL, **bearer(pair["access"])).status_code == 200


def test_password_change_needs_a_signed_in_caller(client):
    response = post(client, PASSWORD_URL, {"old_password": "a", "new_password": "b"})

    assert response.status_code == 401


def test_a_browser_session_changes_its_password_with_csrf_and_stays_signed_in():
    browser = Client(enforce_csrf_checks=True)
    user = UserFactory()
    browser.force_login(user)
    body = {"old_password": PASSWORD, "new_password": "summer-orchid-7"}

    assert post(browser, PASSWORD_URL, body).status_code == 403  # no CSRF token
    browser.cookies["csrftoken"] = "c" * 32
    response = post(browser, PASSWORD_URL, body, HTTP_X_CSRFTOKEN="c" * 32)

    assert response.status_code == 200
    assert browser.get(MY_EVENTS_URL).status_code == 200


# --------------------------------------------------------------- the device joins the shopper


def test_signing_in_on_a_device_joins_its_history_and_announces_it(
    client, django_capture_on_commit_callbacks
):
    user, other = UserFactory(), UserFactory()
    product = ProductFactory()
    mine = anonymous_event(f"device:{DEVICE}", product, "d1")
    elsewhere = anonymous_event("device:another-device", product, "d2")
    signals = []
    events_recorded.connect(lambda **kw: signals.append(kw), weak=False, dispatch_uid="t-auth")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sign_in(client, user, HTTP_X_DEVICE_ID=DEVICE)
            sign_in(client, other)  # no header: nothing to join
    finally:
        events_recorded.disconnect(dispatch_uid="t-auth")

    mine.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (mine.user_id, mine.session_id) == (user.pk, f"device:{DEVICE}")
    assert elsewhere.user_id is None
    assert len(signals) == 1
    assert signals[0]["user_ids"] == {user.pk}
    assert signals[0]["session_ids"] == {f"device:{DEVICE}"}
    assert signals[0]["event_types"] == {"view"}


def test_signing_up_on_a_device_joins_its_history(client):
    event = anonymous_event(f"device:{DEVICE}", ProductFactory())

    response = post(
        client,
        SIGN_UP_URL,
        {"username": "grace", "email": "grace@example.com", "password": "w1nter-tulip"},
        HTTP_X_DEVICE_ID=DEVICE,
    )

    assert response.status_code == 201
    event.refresh_from_db()
    assert event.user_id == response.json()["user"]["id"]


@pytest.mark.parametrize("device", ["short", "has space in it", "x" * 58, "ünïcode-id"])
def test_a_malformed_device_id_at_sign_in_is_400_and_nothing_joins(client, device):
    user = UserFactory()
    event = anonymous_event(f"device:{DEVICE}", ProductFactory())

    response = post(
        client,
        TOKEN_URL,
        {"username": user.username, "password": PASSWORD},
        HTTP_X_DEVICE_ID=device,
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["details"]) == ["X-Device-Id"]
    event.refresh_from_db()
    assert event.user_id is None


def test_an_anonymous_device_is_the_shopper_of_its_requests(client, fake_personalizer):
    response = client.get(RECOMMENDATIONS_URL, HTTP_X_DEVICE_ID=DEVICE)

    assert response.status_code == 200
    (_, shopper, _), *_ = fake_personalizer.calls
    assert shopper.user_id is None and shopper.session_id == f"device:{DEVICE}"
    assert not Session.objects.exists()  # no Django session for the device


def test_a_signed_in_shoppers_requests_stay_theirs_with_a_device_id(client, fake_personalizer):
    user = UserFactory()
    pair = sign_in(client, user)

    response = client.get(RECOMMENDATIONS_URL, HTTP_X_DEVICE_ID=DEVICE, **bearer(pair["access"]))

    assert response.status_code == 200
    (_, shopper, _), *_ = fake_personalizer.calls
    assert shopper.user_id == user.pk and shopper.session_id == ""
