"""Shopper accounts: sign-up rules, password change revoking the app's tokens, and an
anonymous device's or session's history joining the shopper."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from shop.accounts import (
    shopper_claim_device,
    shopper_password_change,
    shopper_sign_up,
    shopper_tokens_revoke,
)
from shop.models import Event, ShopperProfile
from shop.signals import events_recorded
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def anonymous_event(session_id, product, event_id, event_type="view"):
    return Event.objects.create(
        session_id=session_id,
        product=product,
        event_type=event_type,
        source="app",
        client_event_id=event_id,
        occurred_at=timezone.now(),
    )


@pytest.fixture
def heard():
    """The events_recorded signals sent (after commit)."""
    signals = []
    events_recorded.connect(lambda **kw: signals.append(kw), weak=False, dispatch_uid="t-acc")
    yield signals
    events_recorded.disconnect(dispatch_uid="t-acc")


def test_sign_up_creates_an_active_shopper_with_a_profile():
    user = shopper_sign_up(username="ada", email="Ada@EXAMPLE.com", password="w1nter-tulip")

    assert user.pk and user.is_active and not user.is_staff
    assert user.email == "Ada@example.com"  # the domain normalized, as Django does
    assert user.check_password("w1nter-tulip")
    assert ShopperProfile.objects.filter(user=user).exists()


def test_sign_up_reports_every_reason_at_once():
    UserFactory(username="ada")

    with pytest.raises(ValidationError) as refused:
        shopper_sign_up(username="ada", email="bad", password="ada")

    errors = refused.value.message_dict
    assert set(errors) == {"username", "email", "password"}
    assert len(errors["password"]) >= 2  # too short and too similar to the username
    assert get_user_model().objects.count() == 1


def test_sign_up_refuses_a_username_with_forbidden_characters():
    with pytest.raises(ValidationError) as refused:
        shopper_sign_up(username="a b", email="a@example.com", password="w1nter-tulip")

    assert set(refused.value.message_dict) == {"username"}


def test_password_change_blacklists_every_outstanding_refresh_token():
    user, other = UserFactory(), UserFactory()
    tokens = [RefreshToken.for_user(user) for _ in range(2)]
    tokens[0].blacklist()  # already revoked: counted once
    RefreshToken.for_user(other)

    shopper_password_change(user=user, old_password="pass-word-123", new_password="tulip-w1nter")

    user.refresh_from_db()
    assert user.check_password("tulip-w1nter")
    assert BlacklistedToken.objects.filter(token__user=user).count() == 2
    assert not BlacklistedToken.objects.filter(token__user=other).exists()
    assert shopper_tokens_revoke(user_id=user.pk) == 0


def test_password_change_with_a_wrong_old_password_changes_nothing():
    user = UserFactory()
    RefreshToken.for_user(user)

    with pytest.raises(ValidationError) as refused:
        shopper_password_change(user=user, old_password="nope", new_password="tulip-w1nter")

    assert set(refused.value.message_dict) == {"old_password"}
    user.refresh_from_db()
    assert user.check_password("pass-word-123")
    assert OutstandingToken.objects.count() == 1 and not BlacklistedToken.objects.exists()


def test_claiming_a_device_moves_only_its_anonymous_events(
    heard, django_capture_on_commit_callbacks
):
    user, somebody = UserFactory(), UserFactory()
    product = ProductFactory()
    view = anonymous_event("device:abc12345", product, "1")
    cart = anonymous_event("device:abc12345", product, "2", event_type="add_to_cart")
    other_device = anonymous_event("device:zzz99999", product, "3")
    theirs = Event.objects.create(
        user=somebody,
        session_id="device:abc12345",
        product=product,
        event_type="view",
        client_event_id="4",
        occurred_at=timezone.now(),
    )

    with django_capture_on_commit_callbacks(execute=True):
        claimed = shopper_claim_device(user_id=user.pk, session_id="device:abc12345")

    assert claimed == 2
    for event in (view, cart, other_device, theirs):
        event.refresh_from_db()
    assert view.user_id == cart.user_id == user.pk
    assert other_device.user_id is None
    assert theirs.user_id == somebody.pk
    assert heard == [
        {
            "signal": events_recorded,
            "sender": Event,
            "user_ids": {user.pk},
            "session_ids": {"device:abc12345"},
            "event_types": {"view", "add_to_cart"},
        }
    ]


def test_the_signal_waits_for_the_commit(heard, django_capture_on_commit_callbacks):
    anonymous_event("device:abc12345", ProductFactory(), "1")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shopper_claim_device(user_id=UserFactory().pk, session_id="device:abc12345")

    assert heard == [] and len(callbacks) == 1


@pytest.mark.parametrize("session_id", ["", "device:nothing-here"])
def test_claiming_nothing_sends_nothing(heard, django_capture_on_commit_callbacks, session_id):
    anonymous_event("device:abc12345", ProductFactory(), "1")

    with django_capture_on_commit_callbacks(execute=True):
        claimed = shopper_claim_device(user_id=UserFactory().pk, session_id=session_id)

    assert claimed == 0 and heard == []
    assert Event.objects.get().user_id is None


def test_a_storefront_login_joins_the_anonymous_sessions_events(client):
    user = UserFactory()
    session = client.session  # the anonymous visitor's session (and cookie)
    session["seen"] = True
    session.save()
    event = anonymous_event(session.session_key, ProductFactory(), "1")

    response = client.post(
        reverse("login"), {"username": user.username, "password": "pass-word-123"}
    )

    assert response.status_code == 302
    assert client.session.session_key != session.session_key  # Django cycled the key
    event.refresh_from_db()
    assert event.user_id == user.pk


def test_a_failed_storefront_login_joins_nothing(client):
    user = UserFactory()
    session = client.session
    session.save()
    event = anonymous_event(session.session_key, ProductFactory(), "1")

    client.post(reverse("login"), {"username": user.username, "password": "wrong"})

    event.refresh_from_db()
    assert event.user_id is None
