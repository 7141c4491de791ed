"""Signal -> task. A new view, cart or purchase re-scores that shopper and drops their
cached vector; a deleted shopper leaves nothing cached behind; an activated model
version refreshes everyone's top-K."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver

from recommender.models import TRAINING_EVENT_TYPES
from recommender.serving.recommendations import recs_cache_key
from recommender.serving.refresh import refresh_pending_key
from recommender.serving.shoppers import shopper_state_forget
from recommender.signals import model_activated
from recommender.tasks import REFRESH_DEBOUNCE_SECONDS, refresh_recommendations, refresh_user
from shop.caching import cache_delete_many
from shop.signals import events_recorded, personalization_changed

logger = logging.getLogger(__name__)

REFRESHING_EVENT_TYPES = {"view", "click", "add_to_cart", "purchase", "rating"}


@receiver(events_recorded, dispatch_uid="recommender.refresh_on_events")
def refresh_on_events(sender, user_ids=(), session_ids=(), event_types=(), **kwargs) -> None:
    if set(TRAINING_EVENT_TYPES) & set(event_types):
        # Their history changed: the next search re-computes their vector.
        shopper_state_forget(user_ids=user_ids, session_ids=session_ids)
    if not REFRESHING_EVENT_TYPES & set(event_types):
        return
    for user_id in user_ids:
        _queue_refresh(user_id)


def _queue_refresh(user_id: int) -> None:
    """Debounced: one pending refresh per shopper, however many events arrive."""
    if not cache.add(refresh_pending_key(user_id), 1, timeout=30):
        return
    try:
        refresh_user.apply_async(args=[user_id], countdown=REFRESH_DEBOUNCE_SECONDS)
    except Exception:  # broker down: the nightly refresh catches up
        cache.delete(refresh_pending_key(user_id))
        logger.warning("Could not queue a refresh for user %s", user_id, exc_info=True)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="recommender.user_deleted")
def forget_deleted_shopper(sender, instance, **kwargs) -> None:
    """Their rows go with the user (cascade); their cached list and vector go too."""
    shopper_state_forget(user_ids=[instance.pk])
    cache_delete_many([recs_cache_key(instance.pk)])


@receiver(model_activated, dispatch_uid="recommender.refresh_on_activation")
def refresh_on_activation(sender, version_id: int, **kwargs) -> None:
    """Every shopper's cached top-K is re-scored with the newly active model; the shop's
    kept recommendation pages are dropped at once (the model answers online meanwhile)."""
    personalization_changed.send(sender=sender, everyone=True)
    refresh_recommendations.delay()
