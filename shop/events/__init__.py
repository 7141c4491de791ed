"""The one event-ingestion service: validate, attribute, dedupe, write, announce.

- ``validation``: ``parse_event``, the rules every incoming row meets (files and API).
- ``attribution``: whose an event is, by what the caller may say (``EventCaller``).
- ``resolve``: SKUs and external user ids to ids; unknown shoppers created.
- ``writer``: ``event_rows_insert`` (COPY on Postgres) and the background ``EventWriter``.
- ``batch``: ``events_ingest`` (the importers' and the API's path) and
  ``event_batch_record`` (the API's batch).
- ``record``: one storefront or search event (``event_record``).
- ``notify``: the on-commit ``events_recorded`` signal.
"""
