"""Who is asking: the shopper behind a request (a logged-in user, an anonymous
session or app device, or both) and whether they opted out of personalization.

The app's shoppers who have not signed in send ``X-Device-Id`` (the app's own random
id): their shopper's ``session_id`` is ``"device:<id>"``, so their events, search
personalization and recommendations follow the device without a Django session (the
recommender reads anonymous histories by session id). Signing in with the header joins
the device's history to the account (``shop.accounts.shopper_claim_device``). Browsers
never send it; a malformed one is refused with ``InvalidDeviceId`` (a 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest

from shop.auth import USER_PROFILE
from shop.caching import cache_delete_many, cache_get, cache_set
from shop.models import Event, ShopperProfile

# The session key an anonymous shopper's opt-out is kept under.
OPT_OUT_SESSION_KEY = "personalization_opt_out"

DEVICE_HEADER = "X-Device-Id"
DEVICE_SESSION_PREFIX = "device:"
MIN_DEVICE_ID = 8
# The device's session id must fit Event.session_id with its prefix.
MAX_DEVICE_ID = Event._meta.get_field("session_id").max_length - len(DEVICE_SESSION_PREFIX)
DEVICE_ID_PATTERN = rf"[A-Za-z0-9_-]{{{MIN_DEVICE_ID},{MAX_DEVICE_ID}}}"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
DEVICE_ID_RULE = f"must be {MIN_DEVICE_ID} to {MAX_DEVICE_ID} letters, digits, '-' or '_'"


class InvalidDeviceId(BadRequest):
    """``X-Device-Id`` is malformed. Django answers a BadRequest with a 400; the API maps
    it to its error shape with ``details: {"X-Device-Id": [reason]}``."""

    field = DEVICE_HEADER

    def __init__(self, reason: str = DEVICE_ID_RULE):
        super().__init__(reason)
        self.reason = reason


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
    """The shopper behind a request: a signed-in user (with their session, if any); an
    anonymous app device by its ``X-Device-Id`` (no Django session is created); else an
    anonymous visitor by their session, created first with ``create_session``.

    Raises InvalidDeviceId for a malformed ``X-Device-Id``.
    """
    device_session = device_session_from_request(request)
    user_id = request.user.pk if request.user.is_authenticated else None
    if user_id is None and device_session:
        session_id = device_session
    else:
        if create_session and not request.session.session_key:
            request.session.save()
        session_id = request.session.session_key or ""
    return Shopper(
        user_id=user_id,
        session_id=session_id,
        personalize=not _opted_out(request, user_id),
    )


def device_session_from_request(request: HttpRequest) -> str:
    """``"device:<id>"`` for a request with a well-formed ``X-Device-Id``, "" without one
    (an empty header counts as none); InvalidDeviceId for a malformed one."""
    device_id = request.headers.get(DEVICE_HEADER)
    if not device_id:
        return ""
    if not _DEVICE_ID.fullmatch(device_id):
        raise InvalidDeviceId()
    return DEVICE_SESSION_PREFIX + device_id


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


def session_opted_out(*, session_id: str) -> bool:
    """The opt-out an anonymous shopper's browser session keeps (``OPT_OUT_SESSION_KEY``),
    read from the session store: a browser shopper's ``session_id`` is their Django
    session key (``shopper_from_request``). App devices (``device:<id>``) have no session,
    and a key that is gone or expired keeps no choice."""
    if not session_id or session_id.startswith(DEVICE_SESSION_PREFIX):
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_id)
    return bool(store.get(OPT_OUT_SESSION_KEY))


@dataclass(frozen=True)
class OptOut:
    """Where a shopper's opt-out of personalization is recorded, if anywhere."""

    profile: bool = False  # their ShopperProfile (a signed-in shopper's, every device)
    session: bool = False  # the browser session's stored choice

    @property
    def opted_out(self) -> bool:
        return self.profile or self.session


def shopper_opt_out(*, user_id: int | None, session_id: str = "") -> OptOut:
    """A shopper's opt-out as ``shopper_from_request`` reads it for a request from that
    user and session, outside any request (staff tools)."""
    return OptOut(
        profile=user_id is not None and shopper_opted_out(user_id=user_id),
        session=session_opted_out(session_id=session_id),
    )


def shopper_for(*, user_id: int | None, session_id: str = "") -> Shopper:
    """The Shopper the shop serves that user and session, opt-out included: what staff
    tools show them (the inspector, the explain view of a search)."""
    opt_out = shopper_opt_out(user_id=user_id, session_id=session_id)
    return Shopper(user_id=user_id, session_id=session_id, personalize=not opt_out.opted_out)
