"""Who is asking: the shopper behind a request (a logged-in user, an anonymous
session, or both) and whether they opted out of personalization."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from shop.auth import USER_PROFILE
from shop.caching import cache_delete_many, cache_get, cache_set
from shop.models import ShopperProfile

# The session key an anonymous shopper's opt-out is kept under.
OPT_OUT_SESSION_KEY = "personalization_opt_out"


@dataclass(frozen=True)
class Shopper:
    """Who is asking: a logged-in user, an anonymous session, or both."""

    user_id: int | None = None
    session_id: str = ""
    # False when the shopper opted out of personalization (privacy).
    personalize: bool = True

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None


def shopper_from_request(request: HttpRequest, *, create_session: bool = False) -> Shopper:
    """The shopper behind a request; anonymous visitors are known by their session."""
    if create_session and not request.session.session_key:
        request.session.save()
    user_id = request.user.pk if request.user.is_authenticated else None
    return Shopper(
        user_id=user_id,
        session_id=request.session.session_key or "",
        personalize=not _opted_out(request, user_id),
    )


def _opted_out(request: HttpRequest, user_id: int | None) -> bool:
    if request.session.get(OPT_OUT_SESSION_KEY):
        return True
    if user_id is None:
        return False
    if USER_PROFILE.is_cached(request.user):  # loaded with the user (shop.auth)
        profile = USER_PROFILE.get_cached_value(request.user)
        return profile is not None and profile.personalization_opt_out
    return shopper_opted_out(user_id=user_id)


# A shopper's opt-out is read on every personalized request; saving their profile
# forgets the cached answer (shop.receivers).
OPT_OUT_CACHE_SECONDS = 300


def _opt_out_key(user_id: int) -> str:
    return f"shop:opt-out:{user_id}"


def shopper_opted_out(*, user_id: int) -> bool:
    """Whether the shopper turned personalization off (their ShopperProfile)."""
    cached = cache_get(_opt_out_key(user_id))
    if cached is not None:
        return bool(cached)
    opted_out = ShopperProfile.objects.filter(
        user_id=user_id, personalization_opt_out=True
    ).exists()
    cache_set(_opt_out_key(user_id), int(opted_out), OPT_OUT_CACHE_SECONDS)
    return opted_out


def shopper_opt_out_forget(*, user_id: int) -> None:
    cache_delete_many([_opt_out_key(user_id)])
