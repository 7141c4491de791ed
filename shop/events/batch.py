"""Events stored once: the service behind the API's event batch and the file importers.

``events_ingest`` takes parsed rows (``shop.events.validation.EventRow``) and does what
every way in needs: drop repeats, resolve SKUs and external user ids, write (COPY on
Postgres), announce the new events. ``event_batch_record`` is the
API's batch on top of it: attribution and validation of each item first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from shop.events.attribution import EventCaller, event_id_scope, event_row_attribute
from shop.events.notify import RecordedEvent, events_recorded_notify
from shop.events.resolve import ProductIds, UserIds
from shop.events.validation import FUTURE_TOLERANCE, EventRow, parse_event
from shop.events.writer import EVENT_COLUMNS_ORDER, EventWriter
from shop.parsing import RowInvalid

BATCH_SIZE = 5000
_USER, _SESSION, _TYPE = (
    EVENT_COLUMNS_ORDER.index(name) for name in ("user_id", "session_id", "event_type")
)

# Told about a row that cannot be stored: (its place, e.g. a file line, field, reason).
Refused = Callable[[Any, str, str], None]


@dataclass
class IngestCounts:
    created: int = 0
    duplicates: int = 0
    unknown_products: int = 0


def events_ingest(
    *,
    events: Iterable[tuple[Any, EventRow]],
    users: UserIds,
    on_refused: Refused,
    announce: bool,
    batch_size: int = BATCH_SIZE,
) -> IngestCounts:
    """Store each (place, event) once, in batches of ``batch_size``.

    - Idempotent on (source, client event id): a repeat within ``events`` or of a stored
      event counts as a duplicate and changes nothing.
    - A row naming an unknown product, or an unknown shopper that ``users`` may not
      create, goes to ``on_refused`` with its place and is not stored.
    - Products' popularity is not counted here: shop.popularity recomputes it from the
      log (a file import asks for it when done; the app's batches wait for the task).
    - With ``announce``, listeners of ``events_recorded`` hear of the new events after
      the commit.

    Outside a transaction on Postgres, batches are written by background threads while
    ``events`` is read (shop.events.writer.EventWriter), each batch committed on its own.
    """
    ingest = _Ingest(users=users, on_refused=on_refused, announce=announce)
    batch: list[tuple[Any, EventRow]] = []
    for place, event in events:
        if ingest.first_sight(event):
            batch.append((place, event))
        if len(batch) >= batch_size:
            ingest.write(batch)
            batch = []
    ingest.write(batch)
    return ingest.close()


class _Ingest:
    def __init__(self, *, users: UserIds, on_refused: Refused, announce: bool) -> None:
        self.counts = IngestCounts()
        self.products = ProductIds()
        self.users = users
        self.on_refused = on_refused
        self.announce = announce
        self.received_at = timezone.now()
        self.seen: set[tuple[str, str]] = set()
        self.recorded: list[RecordedEvent] = []
        self.writer = EventWriter(on_written=self._written)

    def first_sight(self, event: EventRow) -> bool:
        key = (event.source, event.client_event_id)
        if key in self.seen:
            self.counts.duplicates += 1
            return False
        self.seen.add(key)
        return True

    def write(self, batch: list[tuple[Any, EventRow]]) -> None:
        if not batch:
            return
        self.products.resolve({e.sku for _, e in batch if e.sku})
        self.users.resolve({e.username for _, e in batch if e.username})
        rows = [self._row(place, event) for place, event in batch]
        self.writer.submit([row for row in rows if row is not None])

    def close(self) -> IngestCounts:
        self.writer.close()
        if self.recorded:
            events_recorded_notify(events=self.recorded)
        return self.counts

    def _row(self, place: Any, event: EventRow) -> tuple | None:
        """The event as a row in EVENT_COLUMNS_ORDER, or None when it names an unknown
        product or user."""
        product_id = self.products.ids.get(event.sku) if event.sku else None
        if event.sku and product_id is None:
            self.counts.unknown_products += 1
            self.on_refused(place, "sku", f"unknown product {event.sku!r}")
            return None
        user_id = self.users.ids.get(event.username) if event.username else None
        if event.username and user_id is None:
            self.on_refused(place, "user", f"unknown user {event.username!r}")
            return None
        return (
            user_id,
            event.session_id,
            product_id,
            event.event_type,
            event.value,
            event.query,
            event.position,
            event.context,
            event.source,
            event.client_event_id,
            event.occurred_at,
            self.received_at,
        )

    def _written(self, inserted: list[tuple], submitted: int) -> None:
        self.counts.created += len(inserted)
        self.counts.duplicates += submitted - len(inserted)
        if self.announce:
            self.recorded += [
                RecordedEvent(row[_USER], row[_SESSION], row[_TYPE]) for row in inserted
            ]


@dataclass(frozen=True)
class ItemError:
    index: int | None  # None: the request as a whole
    field: str
    reason: str


@dataclass
class EventBatchResult:
    created: int = 0
    duplicates: int = 0
    errors: list[ItemError] = field(default_factory=list)


def event_batch_record(
    *, items: list, caller: EventCaller, default_source: str
) -> EventBatchResult:
    """Validate, attribute and store a batch of events sent by ``caller`` (the API).

    Every valid item lands, in one transaction; each invalid or unknown-product item
    is named in ``errors`` (index order) with its field and reason.
    """
    result = EventBatchResult()
    events = _item_events(items, caller, default_source, result.errors)

    def refused(index: int, field_name: str, reason: str) -> None:
        result.errors.append(ItemError(index, field_name, reason))

    known = {caller.username: caller.user_id} if caller.user_id is not None else {}
    with transaction.atomic():
        counts = events_ingest(
            events=events,
            users=UserIds(create=caller.privileged, known=known),
            on_refused=refused,
            announce=True,
        )
    result.created, result.duplicates = counts.created, counts.duplicates
    result.errors.sort(key=lambda error: error.index)
    return result


def _item_events(
    items: list, caller: EventCaller, default_source: str, errors: list[ItemError]
) -> list[tuple[int, EventRow]]:
    """(index, event) for each valid item; each invalid one named in ``errors``."""
    latest = timezone.now() + FUTURE_TOLERANCE
    events: list[tuple[int, EventRow]] = []
    for index, item in enumerate(items):
        try:
            events.append((index, _item_event(item, caller, default_source, latest)))
        except RowInvalid as exc:
            errors.append(ItemError(index, exc.field, exc.reason))
    return events


def _item_event(item: Any, caller: EventCaller, default_source: str, latest) -> EventRow:
    if not isinstance(item, dict):
        raise RowInvalid("(row)", "must be a JSON object")
    event = parse_event(
        event_row_attribute(item, caller=caller), default_source=default_source, latest=latest
    )
    event_id_scope(event, caller=caller)
    return event
