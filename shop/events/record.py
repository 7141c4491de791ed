"""One storefront or search event, recorded as the shopper's page is answered."""

from __future__ import annotations

import uuid

import orjson
import psycopg
from django.db import connection, transaction
from django.db.models import F
from django.db.models.sql import InsertQuery
from django.utils import timezone
from psycopg.types.json import Jsonb

from shop.events.notify import events_recorded_notify
from shop.models import Event, Product
from shop.selectors import EVENT_WEIGHTS
from shop.shoppers import Shopper

# Commit this transaction without waiting for the WAL flush (behaviour logs only).
ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF"
# The columns an event INSERT writes (its id comes back from RETURNING).
_EVENT_INSERT_FIELDS = [f for f in Event._meta.local_concrete_fields if not f.primary_key]
_EVENT_CONTEXT_FIELD = Event._meta.get_field("context")


def _context_json(value) -> bytes:
    # As json.dumps (non-string keys become strings), but NaN becomes null, not an error.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


# The one-statement event INSERT per database alias, compiled on first use: compiling it
# for every search cost ~0.3 ms of CPU (line_profiler, bench.search_load catalogue).
_event_insert_statements: dict[str, str] = {}


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
    The event and the popularity counter commit together, and on Postgres without
    waiting for the WAL flush: a crash can lose the last fraction of a second of
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
    weight = EVENT_WEIGHTS.get(event_type, 0) if product_id else 0
    if weight or not _insert_without_flush_wait(event):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(ASYNC_COMMIT)
            event.save(force_insert=True)
            if weight:
                Product.objects.filter(pk=product_id).update(popularity=F("popularity") + weight)
    events_recorded_notify(events=[event])
    return event


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
        sql = _event_insert_statements.get(connection.alias)
        if sql is None:
            query = InsertQuery(Event)
            query.insert_values(_EVENT_INSERT_FIELDS, [event])
            compiler = query.get_compiler(connection=connection)
            compiler.returning_fields = [Event._meta.pk]
            [(sql, _)] = compiler.as_sql()
            sql = _event_insert_statements[connection.alias] = f"{ASYNC_COMMIT}; {sql}"
        # The values as the INSERT compiler prepares them (pre_save, then for the
        # database); the statement itself is the same for every event. The context
        # (~6 KB for a search: each shown product's score components) is encoded by
        # orjson: 8 us against 85 us for json.dumps.
        params = [
            Jsonb(event.context, dumps=_context_json)
            if field is _EVENT_CONTEXT_FIELD
            else field.get_db_prep_save(field.pre_save(event, True), connection=connection)
            for field in _EVENT_INSERT_FIELDS
        ]
        cursor.execute(sql, params)
        cursor.nextset()
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias
    return True
