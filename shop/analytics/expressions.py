"""What the analytics read from an event's ``context`` JSON, as database expressions that
Postgres and SQLite both evaluate (and that never fail on a malformed value: the app's
event batch may send anything there)."""

from __future__ import annotations

from django.db.models import BigIntegerField, Func, IntegerField


class ShownCount(Func):
    """How many products a search event's page showed: the length of
    ``context["shown"]`` (NULL when the event has no such list)."""

    output_field = IntegerField()

    def __init__(self, **extra) -> None:
        super().__init__("context", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="jsonb_array_length(CASE WHEN jsonb_typeof(%(expressions)s -> 'shown') "
            "= 'array' THEN %(expressions)s -> 'shown' END)",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CASE WHEN json_type(%(expressions)s, '$.shown') = 'array' "
            "THEN json_array_length(%(expressions)s, '$.shown') END",
            **extra,
        )


class PersonalizedFlag(Func):
    """1 when ``context["personalized"]`` is JSON true, 0 when false, else NULL (events
    logged before the flag, or by a client that does not send it)."""

    output_field = IntegerField()

    def __init__(self, **extra) -> None:
        super().__init__("context", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CASE jsonb_typeof(%(expressions)s -> 'personalized') WHEN 'boolean' THEN "
            "CASE WHEN (%(expressions)s -> 'personalized') = 'true'::jsonb THEN 1 ELSE 0 END END",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CASE json_type(%(expressions)s, '$.personalized') "
            "WHEN 'true' THEN 1 WHEN 'false' THEN 0 END",
            **extra,
        )


class SearchEventId(Func):
    """``context["search_event_id"]`` when it is a whole number of at most 18 digits (a
    primary key), else NULL: the search a click, add-to-cart or purchase came from."""

    output_field = BigIntegerField()

    def __init__(self, **extra) -> None:
        super().__init__("context", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CASE WHEN jsonb_typeof(%(expressions)s -> 'search_event_id') = 'number' "
            "AND (%(expressions)s ->> 'search_event_id') ~ '^[0-9]{1,18}$' "
            "THEN (%(expressions)s ->> 'search_event_id')::bigint END",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CASE WHEN json_type(%(expressions)s, '$.search_event_id') = 'integer' "
            "THEN json_extract(%(expressions)s, '$.search_event_id') END",
            **extra,
        )
