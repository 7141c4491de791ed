"""One storefront or search event, recorded as the shopper's page is answered."""

from __future__ import annotations

import uuid

import orjson
import psycopg
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from shop.events.notify import events_recorded_notify
from shop.events.writer import ASYNC_COMMIT
from shop.models import Event
from shop.shoppers import Shopper

# The columns an event INSERT writes (its id comes back from RETURNING).
_INSERT_FIELDS = [f for f in Event._meta.local_concrete_fields if not f.primary_key]
_CONTEXT_FIELD = Event._meta.get_field("context")


def _one_round_trip_insert() -> str:
    """Postgres: ``SET LOCAL ...; INSERT ... RETURNING id``, spelled out once from the
    model's columns (compiling an INSERT for every search cost ~0.3 ms of its CPU;
    see ce504e7)."""
    columns = ", ".join(f'"{field.column}"' for field in _INSERT_FIELDS)
    values = ", ".join(["%s"] * len(_INSERT_FIELDS))
    return (
        f'{ASYNC_COMMIT}; INSERT INTO "{Event._meta.db_table}" ({columns})'
        f' VALUES ({values}) RETURNING "{Event._meta.pk.column}"'
    )


_ONE_ROUND_TRIP_INSERT = _one_round_trip_insert()


def event_record(
    *,
    shopper: Shopper,
    event_type: str,
    product_id: int | None = None,
    query: str = "",
    position: int | None = None,
    value: float | None = None,
    context: dict | None = None,
    source: str = "web",
) -> Event | None:
    """Record one storefront event for a user or an anonymous session.

    Returns None when there is nobody to attribute the event to (no user, no session).
    Products' popularity is recomputed from the log (shop.popularity), not bumped here.
    On Postgres the event commits without waiting for the WAL flush: a crash can lose the last fraction of a second of
    behaviour logs, while every page that records one answers a round trip sooner.
    """
    if shopper.user_id is None and not shopper.session_id:
        return None
    event = Event(
        user_id=shopper.user_id,
        session_id=shopper.session_id if shopper.user_id is None else shopper.session_id[:64],
        product_id=product_id,
        event_type=event_type,
        query=query[:500],
        position=position,
        value=value,
        context=context or {},
        source=source,
        client_event_id=uuid.uuid4().hex,
        occurred_at=timezone.now(),
    )
    if not _insert_without_flush_wait(event):
        _save(event)
    events_recorded_notify(events=[event])
    return event


def _save(event: Event) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(ASYNC_COMMIT)
        event.save(force_insert=True)


def _insert_without_flush_wait(event: Event) -> bool:
    """INSERT `event` in one round trip, committed without waiting for the WAL flush.

    Postgres runs the statements of one simple query in one implicit transaction, so
    ``SET LOCAL synchronous_commit TO OFF; INSERT ... RETURNING id`` needs no BEGIN and
    COMMIT of its own: one round trip instead of four for every search a shopper makes
    (under load each round trip waits for a free core). Needs Django's default
    client-side binding cursor on Postgres; returns False (nothing written) elsewhere.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Inside a transaction the SET LOCAL would cover the caller's whole transaction,
        # and a failed INSERT would abort it: the savepoint path is for that.
        return False
    with connection.cursor() as cursor:
        if not isinstance(cursor.cursor, psycopg.ClientCursor):
            return False
        cursor.execute(_ONE_ROUND_TRIP_INSERT, _insert_params(event))
        cursor.nextset()
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias
    return True


def _insert_params(event: Event) -> list:
    """The values as Django's INSERT compiler prepares them (pre_save, then for the
    database); the context (~6 KB for a search: each shown product's score components)
    encoded by orjson, as json.dumps would (non-string keys become strings) but NaN
    becomes null instead of an error."""
    return [
        Jsonb(event.context, dumps=_context_json)
        if field is _CONTEXT_FIELD
        else field.get_db_prep_save(field.pre_save(event, True), connection=connection)
        for field in _INSERT_FIELDS
    ]


def _context_json(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
