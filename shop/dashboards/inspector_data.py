"""What the shopper inspector reads: finding a shopper, the recently active ones, who a
shopper is, and their latest events. Every query is bounded and indexed. Plans on
Postgres 15 (EXPLAIN ANALYZE, 2.2 million events, 50,000 users, one user with 200,000
events):

- recently active shoppers: ``ORDER BY occurred_at DESC, id DESC LIMIT 500`` ->
  ``Limit -> Index Scan Backward using event_time_idx`` (0.1 ms: 500 index entries,
  whatever the table's size), deduplicated here; their usernames by primary key;
- a user's history: ``WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT 51``
  -> ``Limit -> Incremental Sort -> Nested Loop Left Join (product by pkey) -> Index
  Scan Backward using event_user_time_idx`` (0.5 ms for the user with 200,000 events; a
  user with few: Bitmap Index Scan on the same index and a sort of their rows); a
  session's: the same on ``event_session_time_idx`` (Filter: user_id IS NULL);
- a shopper's event count: ``SELECT count(*) FROM (... LIMIT 10001)`` -> ``Index Only
  Scan using event_user_time_idx`` (2.3 ms at the cap), ``event_session_time_idx``
  for a session;
- a shopper's first event: ``ORDER BY occurred_at, id LIMIT 1`` -> ``Index Scan using
  event_user_time_idx`` / ``event_session_time_idx`` (one row read);
- finding by username: ``auth_user_username`` unique index; by user id: the primary
  key; by session id: ``Index Scan Backward using event_session_time_idx`` (LIMIT 1),
  then ``django_session``'s primary key. By email: ``UPPER(email) = UPPER($1)`` has no
  index in Django's user table, so it reads the user table (30 ms for 50,000 users),
  never the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db.models import Q

from shop.models import Event
from shop.parsing import LARGEST_ROW_ID
from shop.selectors import shopper_events
from shop.shoppers import DEVICE_SESSION_PREFIX, OptOut, Shopper, shopper_opt_out

# Recently active shoppers are read from this many latest events.
RECENT_EVENTS_SCANNED = 500
RECENT_SHOPPERS = 20
HISTORY_EVENTS = 50
# Event counts above this show as "10,000+".
COUNT_CAP = 10_000
MAX_FOUND = 20
SESSION_ID_LENGTH = Event._meta.get_field("session_id").max_length


@dataclass(frozen=True)
class ShopperRef:
    """A shopper to pick: a user (with the session they were found by, if any) or an
    anonymous session."""

    user_id: int | None
    session_id: str = ""
    username: str = ""
    last_seen: datetime | None = None

    @property
    def label(self) -> str:
        if self.user_id is not None:
            return self.username or f"user {self.user_id}"
        return f"session {self.session_id}"

    @property
    def query(self) -> str:
        """The inspector's query string for this shopper."""
        params = {}
        if self.user_id is not None:
            params["user"] = self.user_id
        if self.session_id:
            params["session"] = self.session_id
        return urlencode(params)


def shoppers_find(*, text: str, by_email: bool = True) -> list[ShopperRef]:
    """Shoppers whose user id, username, email (when ``by_email``: staff who may see
    users' accounts) or session id is ``text`` (exactly; the email in any case); users
    first."""
    text = text.strip()
    if not text:
        return []
    users = Q(username=text)
    if by_email and "@" in text:
        users |= Q(email__iexact=text)
    if text.isdigit() and int(text) <= LARGEST_ROW_ID:
        users |= Q(pk=int(text))
    found = [
        ShopperRef(user_id=pk, username=username)
        for pk, username in get_user_model()
        .objects.filter(users)
        .order_by("pk")
        .values_list("pk", "username")[:MAX_FOUND]
    ]
    if len(text) <= SESSION_ID_LENGTH:
        session = _session_ref(text)
        if session is not None and session.user_id not in {f.user_id for f in found}:
            found.append(session)
    return found


def _session_ref(session_id: str) -> ShopperRef | None:
    """The shopper of a session id: the user of its latest event when that one was
    signed in, else the anonymous session (also one with no event yet but a session)."""
    latest = (
        Event.objects.filter(session_id=session_id)
        .order_by("-occurred_at", "-id")
        .values_list("user_id", "user__username", "occurred_at")
        .first()
    )
    if latest is not None:
        user_id, username, occurred_at = latest
        return ShopperRef(user_id, session_id, username or "", occurred_at)
    if Session.objects.filter(session_key=session_id).exists():
        return ShopperRef(None, session_id)
    return None


def recently_active_shoppers(*, limit: int = RECENT_SHOPPERS) -> list[ShopperRef]:
    """The shoppers of the latest events (at most ``limit``), most recent first."""
    seen: dict[tuple, ShopperRef] = {}
    rows = Event.objects.order_by("-occurred_at", "-id").values_list(
        "user_id", "session_id", "occurred_at"
    )[:RECENT_EVENTS_SCANNED]
    for user_id, session_id, occurred_at in rows:
        key = (user_id, "") if user_id is not None else (None, session_id)
        if key not in seen:
            seen[key] = ShopperRef(user_id, key[1], "", occurred_at)
            if len(seen) >= limit:
                break
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[u for u, _ in seen if u is not None])
        .values_list("pk", "username")
    )
    return [
        ShopperRef(r.user_id, r.session_id, names.get(r.user_id, ""), r.last_seen)
        for r in seen.values()
    ]


def shopper_history(*, shopper: Shopper, limit: int = HISTORY_EVENTS) -> tuple[list[Event], bool]:
    """The shopper's latest events with their products, newest first, and whether there
    are older ones."""
    events = list(shopper_events(shopper=shopper).select_related("product")[: limit + 1])
    return events[:limit], len(events) > limit


def shopper_event_count(*, shopper: Shopper) -> tuple[int, bool]:
    """How many events the shopper has, counted up to COUNT_CAP (and whether capped)."""
    count = shopper_events(shopper=shopper).order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


@dataclass(frozen=True)
class ShopperFacts:
    """Who a shopper is, for the inspector's first table."""

    shopper: Shopper
    user: object | None  # the user row, for a signed-in shopper
    opt_out: OptOut
    # The session the opt-out and the page's answers are read for, and why it is that one.
    session_note: str
    first_seen: datetime | None
    last_seen: datetime | None
    events: int
    events_capped: bool

    @property
    def is_device(self) -> bool:
        return self.shopper.session_id.startswith(DEVICE_SESSION_PREFIX)


def shopper_facts(
    *, user_id: int | None, session_id: str, latest: Event | None
) -> ShopperFacts | None:
    """The shopper (None when the user does not exist): their user row, the session
    whose stored opt-out counts (the one asked for, else that of their latest event),
    their opt-out, first and last event and event count."""
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            return None
    session_note = "the one asked for" if session_id else ""
    if not session_id and latest is not None and latest.session_id:
        session_id, session_note = latest.session_id, "of their latest event"
    opt_out = shopper_opt_out(user_id=user_id, session_id=session_id)
    shopper = Shopper(user_id=user_id, session_id=session_id, personalize=not opt_out.opted_out)
    events, capped = shopper_event_count(shopper=shopper)
    ordered = shopper_events(shopper=shopper).values_list("occurred_at", flat=True)
    return ShopperFacts(
        shopper=shopper,
        user=user,
        opt_out=opt_out,
        session_note=session_note,
        first_seen=ordered.reverse().first() if events else None,
        last_seen=latest.occurred_at if latest is not None else None,
        events=events,
        events_capped=capped,
    )
