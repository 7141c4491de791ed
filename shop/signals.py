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

# Sent when staff declare the winner of an A/B experiment (shop.experiments.services),
# inside the transaction that records it: a receiver that makes the winner permanent
# (the recommender activates a winning model version) may raise to refuse, which undoes
# the declaration. Keyword arguments: experiment_id (int), surface (str), variant
# (dict: the winning arm's). A receiver may return a sentence saying what it did.
experiment_winner_declared = Signal()
