"""An incoming event row (a file's line or an API item) checked and normalized.

The same rules for every way in: ``parse_event`` either returns an ``EventRow`` or
raises ``RowInvalid`` naming the field and the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.utils import timezone

from shop.models import (
    PRODUCTLESS_EVENT_TYPES,
    Event,
    EventType,
    Product,
    RecommendationList,
)
from shop.parsing import RowInvalid, parse_float, parse_int, parse_json_object, parse_text

MAX_SKU = Product._meta.get_field("sku").max_length
MAX_QUERY = 500
MAX_USERNAME = 150
MAX_SESSION = 64
MAX_SOURCE = Event._meta.get_field("source").max_length
MAX_EVENT_ID = 100
EARLIEST_EVENT = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks of clients differ: an event up to a day ahead of ours is accepted.
FUTURE_TOLERANCE = timedelta(days=1)
# The columns an event row may have (files and API items alike).
EVENT_COLUMNS = (
    "event_id",
    "user",
    "session_id",
    "sku",
    "type",
    "value",
    "query",
    "position",
    "occurred_at",
    "context",
    "source",
)
PRODUCTLESS = frozenset(t.value for t in PRODUCTLESS_EVENT_TYPES)
EVENT_TYPE_VALUES = frozenset(EventType.values)


@dataclass
class EventRow:
    client_event_id: str
    source: str
    username: str
    session_id: str
    sku: str
    event_type: str
    value: float | None
    query: str
    position: int | None
    occurred_at: datetime
    context: dict


def parse_event(
    row: dict, *, default_source: str, default_tz: tzinfo = UTC, latest: datetime | None = None
) -> EventRow:
    """The row as an EventRow, or RowInvalid naming the first invalid field.

    Without an ``event_id`` the row's content is its identity, so a re-run or a
    repeated row is recognised as a duplicate.
    """
    event_type = _event_type(row)
    username, session_id = _event_actor(row)
    sku, value, query = _event_subject(row, event_type)
    occurred_at = parse_timestamp(row.get("occurred_at"), default_tz=default_tz, latest=latest)
    source = parse_text(row, "source", max_length=MAX_SOURCE) or default_source
    event_id = parse_text(row, "event_id", max_length=MAX_EVENT_ID)
    event = EventRow(
        client_event_id=event_id,
        source=source,
        username=username,
        session_id=session_id,
        sku=sku,
        event_type=event_type,
        value=value,
        query=query,
        position=parse_int(row, "position"),
        occurred_at=occurred_at,
        context=parse_json_object(row, "context"),
    )
    if event_type == EventType.IMPRESSION:
        _check_impression(event)
    if not event_id:
        event.client_event_id = _content_id(event)
    return event


def _event_type(row: dict) -> str:
    event_type = parse_text(row, "type", required=True).lower()
    if event_type not in EVENT_TYPE_VALUES:
        raise RowInvalid("type", f"{event_type[:40]!r} is not one of {', '.join(EventType.values)}")
    return event_type


def _event_actor(row: dict) -> tuple[str, str]:
    """(external user id, session id): at least one of them."""
    username = parse_text(row, "user", max_length=MAX_USERNAME)
    if username.endswith(".0") and username[:-2].isdigit():
        username = username[:-2]  # spreadsheet exports write ids as floats
    session_id = parse_text(row, "session_id", max_length=MAX_SESSION)
    if not username and not session_id:
        raise RowInvalid("user", "either user or session_id is required")
    return username, session_id


def _event_subject(row: dict, event_type: str) -> tuple[str, float | None, str]:
    """(SKU, value, query), each required where the event type needs it."""
    sku = parse_text(row, "sku", max_length=MAX_SKU)
    if not sku and event_type not in PRODUCTLESS:
        raise RowInvalid("sku", f"is required for {event_type} events")
    value = parse_float(row, "value")
    if event_type == "rating" and (value is None or not 1 <= value <= 5):
        raise RowInvalid("value", "a rating needs a value from 1 to 5")
    query = parse_text(row, "query", max_length=MAX_QUERY)
    if event_type == "search" and not query:
        raise RowInvalid("query", "is required for search events")
    return sku, value, query


def _check_impression(event: EventRow) -> None:
    """An impression names the recommendation list it showed (the dashboards count its
    clicks against it) and no product: what it showed is no sign of interest, and an
    event with a product counts as one (recently viewed, co-occurrence)."""
    if event.context.get("list") not in RecommendationList.values:
        lists = ", ".join(RecommendationList.values)
        raise RowInvalid("context", f"an impression needs context.list, one of {lists}")
    if event.sku:
        raise RowInvalid("sku", "an impression names what it showed in context.shown, not sku")


def _content_id(event: EventRow) -> str:
    key = "|".join(
        str(x)
        for x in (
            event.username,
            event.session_id,
            event.sku,
            event.event_type,
            event.value,
            event.query,
            event.position,
            event.occurred_at.isoformat(),
        )
    )
    return "h:" + hashlib.sha1(key.encode()).hexdigest()


def parse_timestamp(
    value: Any,
    *,
    field_name: str = "occurred_at",
    default_tz: tzinfo = UTC,
    latest: datetime | None = None,
) -> datetime:
    """ISO 8601 (offset optional; naive means ``default_tz``) or Unix seconds, to UTC,
    between 1990 and ``latest`` (default: a day from now)."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise RowInvalid(field_name, "is required")
    looks_like_date = "-" in text[1:] or ":" in text or "T" in text
    seconds = None if looks_like_date else _number_or_none(text)
    if seconds is None:
        moment = _iso_moment(text, field_name, default_tz)
    else:
        moment = _unix_moment(seconds, text, field_name)
    moment = moment.astimezone(UTC)
    if moment < EARLIEST_EVENT:
        raise RowInvalid(field_name, f"{text[:40]} is before 1990")
    if moment > (latest or timezone.now() + FUTURE_TOLERANCE):
        raise RowInvalid(field_name, f"{text[:40]} is in the future")
    return moment


def _number_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _unix_moment(seconds: float, text: str, field_name: str) -> datetime:
    if seconds != seconds or abs(seconds) > 1e11:
        raise RowInvalid(field_name, f"{text[:40]!r} is not a plausible Unix time")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _iso_moment(text: str, field_name: str, default_tz: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowInvalid(field_name, _NOT_A_DATE.format(text=text[:40])) from None
    return moment.replace(tzinfo=default_tz) if timezone.is_naive(moment) else moment


_NOT_A_DATE = "{text!r} is not a date (use ISO 8601, e.g. 2024-05-01T13:45:00Z, or Unix seconds)"
