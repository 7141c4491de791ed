"""Signals the shop sends, so that plugins can react without the shop importing them."""

from django.dispatch import Signal

# Sent after the transaction that recorded new storefront/API events commits.
# Keyword arguments: user_ids (set[int]), session_ids (set[str]), event_types (set[str]).
events_recorded = Signal()
