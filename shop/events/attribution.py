"""Whose an event is: what a caller may say about the actor of the rows they send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shop.events.validation import MAX_EVENT_ID, EventRow


@dataclass(frozen=True)
class EventCaller:
    """Who sends a batch of events.

    - ``privileged`` (staff, holders of ``shop.add_event``: server-to-server ingestion):
      a row's ``user`` names any shopper by external id, a row with only ``session_id``
      is an anonymous event, a row with neither is the caller's; ``source`` may be set;
    - a logged-in shopper (``user_id`` set): every row is theirs; ``user`` and
      ``source`` are ignored, ``session_id`` defaults to their session;
    - an anonymous caller: a row's ``session_id``, else the caller's session;
      ``user`` and ``source`` are ignored.

    ``session_key`` gives the caller's session key (an anonymous caller's session is
    created on first need); it is only called for rows without a ``session_id``.
    """

    user_id: int | None
    username: str
    privileged: bool
    session_key: Callable[[], str]


def event_row_attribute(row: dict, *, caller: EventCaller) -> dict:
    """A copy of an incoming row with its actor set by the caller's rights."""
    row = dict(row)
    if caller.privileged:
        if _blank(row.get("user")) and _blank(row.get("session_id")):
            row["user"] = caller.username
        return row
    row.pop("source", None)
    row.pop("user", None)
    if caller.user_id is not None:
        row["user"] = caller.username
    if _blank(row.get("session_id")):
        row["session_id"] = caller.session_key()
    return row


def event_id_scope(event: EventRow, *, caller: EventCaller) -> None:
    """A shopper's ids are theirs alone: scoped by the actor, another caller who guesses
    them cannot make this shopper's events count as duplicates. (Privileged callers'
    ids are taken as they are.)"""
    if caller.privileged:
        return
    actor = f"u{caller.user_id}" if caller.user_id is not None else f"s{event.session_id}"
    event.client_event_id = f"{actor}:{event.client_event_id}"[:MAX_EVENT_ID]


def _blank(value) -> bool:
    return value is None or not str(value).strip()
