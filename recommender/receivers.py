"""Reacts to the shop's signals: a new view, cart or purchase re-scores that shopper
and drops their cached vector; a deleted shopper leaves nothing cached behind."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver

from shop.signals import events_recorded

logger = logging.getLogger(__name__)

REFRESHING_EVENT_TYPES = {"view", "click", "add_to_cart", "purchase", "rating"}


@receiver(events_recorded, dispatch_uid="recommender.refresh_on_events")
def refresh_on_events(sender, user_ids=(), session_ids=(), event_types=(), **kwargs) -> None:
    from recommender.export import TRAINING_EVENT_TYPES
    from recommender.selectors import shopper_state_forget
    from recommender.tasks import REFRESH_DEBOUNCE_SECONDS, refresh_user

    if set(TRAINING_EVENT_TYPES) & set(event_types):
        # Their history changed: the next search re-computes their vector.
        shopper_state_forget(user_ids=user_ids, session_ids=session_ids)
    if not REFRESHING_EVENT_TYPES & set(event_types):
        return
    for user_id in user_ids:
        # Debounce: one pending refresh per shopper, however many events arrive.
        if cache.add(f"recommender:refresh-pending:{user_id}", 1, timeout=30):
            try:
                refresh_user.apply_async(args=[user_id], countdown=REFRESH_DEBOUNCE_SECONDS)
            except Exception:  # broker down: the nightly refresh catches up
                cache.delete(f"recommender:refresh-pending:{user_id}")
                logger.warning("Could not queue a refresh for user %s", user_id, exc_info=True)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="recommender.user_deleted")
def forget_deleted_shopper(sender, instance, **kwargs) -> None:
    """Their rows go with the user (cascade); their cached list and vector go too."""
    from recommender.selectors import shopper_state_forget
    from recommender.services import recs_cache_key
    from shop.caching import cache_delete_many

    shopper_state_forget(user_ids=[instance.pk])
    cache_delete_many([recs_cache_key(instance.pk)])
