"""Signals the shop sends, so that plugins can react without the shop importing them."""

from django.dispatch import Signal

# Sent after the transaction that recorded new storefront/API events commits.
# Keyword arguments: user_ids (set[int]), session_ids (set[str]), event_types (set[str]).
events_recorded = Signal()

# Sent by a personalizer plugin when what it answers changed for some shoppers (their
# recommendations were re-scored) or for everyone (another model became active).
# Keyword arguments: user_ids (iterable of int), session_ids (iterable of str),
# everyone (bool). The shop drops the recommendation pages it cached for them.
personalization_changed = Signal()
