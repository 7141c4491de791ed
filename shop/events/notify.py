"""The on-commit ``events_recorded`` notification for listeners (the recommender's refresh)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import NamedTuple

from django.db import transaction

from shop.models import Event
from shop.signals import events_recorded

logger = logging.getLogger(__name__)


class RecordedEvent(NamedTuple):
    """What events_recorded_notify reads of an event (an Event has the same fields)."""

    user_id: int | None
    session_id: str
    event_type: str


def events_recorded_notify(*, events: Iterable[Event | RecordedEvent]) -> None:
    """Tell listeners (the recommender's real-time refresh) once the events are committed."""
    events = list(events)
    user_ids = {e.user_id for e in events if e.user_id}
    session_ids = {e.session_id for e in events if not e.user_id and e.session_id}
    event_types = {e.event_type for e in events}
    if not (user_ids or session_ids):
        return

    def send() -> None:
        for receiver, response in events_recorded.send_robust(
            sender=Event, user_ids=user_ids, session_ids=session_ids, event_types=event_types
        ):
            if isinstance(response, Exception):
                logger.error("events_recorded receiver %r failed: %r", receiver, response)

    transaction.on_commit(send, robust=True)
