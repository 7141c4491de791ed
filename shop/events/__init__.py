"""The one event-ingestion service: validate, attribute, dedupe, write, count, announce.

- ``record``: one storefront or search event (``event_record``).
- ``notify``: the on-commit ``events_recorded`` signal.
- ``popularity``: ``Product.popularity`` from the event weights.
"""
