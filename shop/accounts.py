"""Shopper accounts: sign-up, password change (which revokes the app's tokens), and joining
an anonymous device's or session's history to the account that signs in on it.

Errors are Django ``ValidationError``s keyed by the field at fault (``username``,
``email``, ``password``, ``old_password``, ``new_password``); the API turns them into
its 400 answer.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from shop.events.notify import RecordedEvent, events_recorded_notify
from shop.models import Event, ShopperProfile

USERNAME_TAKEN = "A user with that username already exists."


def shopper_sign_up(*, username: str, email: str, password: str):
    """A new active shopper with a ShopperProfile. The username and email are checked by
    the user model's rules (a taken username included), the password by Django's
    password validators (AUTH_PASSWORD_VALIDATORS); every reason is reported at once."""
    user_model = get_user_model()
    user = user_model(username=username, email=user_model.objects.normalize_email(email))
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as invalid:
        errors.update(invalid.message_dict)
    try:
        validate_password(password, user=user)
    except ValidationError as invalid:
        errors["password"] = list(invalid.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            ShopperProfile.objects.create(user=user)
    except IntegrityError:  # the same username signed up in between
        raise ValidationError({"username": [USERNAME_TAKEN]}) from None
    return user


def shopper_password_change(*, user, old_password: str, new_password: str) -> None:
    """Set a new password after checking the old one and the validators. The app's
    earlier access tokens stop working (they carry a hash of the old password:
    simplejwt's CHECK_REVOKE_TOKEN) and every outstanding refresh token is revoked."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The old password is not correct."]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as invalid:
        raise ValidationError({"new_password": list(invalid.messages)}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        shopper_tokens_revoke(user_id=user.pk)


def shopper_tokens_revoke(*, user_id: int) -> int:
    """Blacklist every refresh token issued to the shopper and not yet blacklisted;
    returns how many."""
    outstanding = list(
        OutstandingToken.objects.filter(user_id=user_id, blacklistedtoken__isnull=True).values_list(
            "pk", flat=True
        )
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in outstanding], ignore_conflicts=True
    )
    return len(outstanding)


def shopper_claim_device(*, user_id: int, session_id: str) -> int:
    """The anonymous events of a device or session (``session_id``, no user) become the
    shopper's; returns how many.

    Listeners of ``events_recorded`` (the recommender) hear after the commit that both
    histories changed: the shopper is re-scored at once, the anonymous state forgotten.
    """
    if not session_id:
        return 0
    with transaction.atomic():
        anonymous = Event.objects.filter(session_id=session_id, user__isnull=True)
        event_types = set(anonymous.values_list("event_type", flat=True).distinct())
        claimed = anonymous.update(user_id=user_id)
        if claimed:
            events_recorded_notify(
                events=[
                    event
                    for event_type in event_types
                    for event in (
                        RecordedEvent(user_id, session_id, event_type),
                        RecordedEvent(None, session_id, event_type),
                    )
                ]
            )
    return claimed


@receiver(user_logged_in, dispatch_uid="shop.accounts.claim_session_on_login")
def shopper_claim_session_on_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """A storefront (session) login: the anonymous session's events join the shopper.

    Django gives the session a new key at login; the key the browser came with is still
    in the request's cookie. (Token sign-in does not send ``user_logged_in``.)"""
    if request is None or not user.pk:
        return
    previous = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if previous and previous != getattr(request.session, "session_key", None):
        shopper_claim_device(user_id=user.pk, session_id=previous)
