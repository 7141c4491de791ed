"""Keeps the shop's caches honest: a saved or deleted row drops what was cached from it,
and so do a shopper's new events and a personalizer's re-scoring."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shop.models import (
    PRODUCTLESS_EVENT_TYPES,
    Brand,
    Category,
    Product,
    SearchRule,
    ShopperProfile,
)
from shop.recommendations import recommendations_pages_forget
from shop.search.cache import search_cache_invalidate
from shop.shoppers import shopper_opt_out_forget
from shop.signals import events_recorded, personalization_changed


@receiver(post_save, sender=Product, dispatch_uid="shop.search_cache.product_saved")
@receiver(post_delete, sender=Product, dispatch_uid="shop.search_cache.product_deleted")
@receiver(post_save, sender=Category, dispatch_uid="shop.search_cache.category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="shop.search_cache.category_deleted")
@receiver(post_save, sender=Brand, dispatch_uid="shop.search_cache.brand_saved")
@receiver(post_delete, sender=Brand, dispatch_uid="shop.search_cache.brand_deleted")
@receiver(post_save, sender=SearchRule, dispatch_uid="shop.search_cache.rule_saved")
@receiver(post_delete, sender=SearchRule, dispatch_uid="shop.search_cache.rule_deleted")
def catalogue_changed(sender, **kwargs) -> None:
    # Now, and again once the change is committed: a search that ran in between (another
    # process, still reading the old row) must not keep its result under the new
    # generation for SEARCH_CACHE_SECONDS.
    search_cache_invalidate()
    transaction.on_commit(search_cache_invalidate, robust=True)


@receiver(post_save, sender=ShopperProfile, dispatch_uid="shop.opt_out.saved")
@receiver(post_delete, sender=ShopperProfile, dispatch_uid="shop.opt_out.deleted")
def shopper_profile_changed(sender, instance, **kwargs) -> None:
    shopper_opt_out_forget(user_id=instance.user_id)
    recommendations_pages_forget(user_ids=[instance.user_id])


@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="shop.recs_pages.user")
def shopper_deleted(sender, instance, **kwargs) -> None:
    """A deleted shopper's kept pages go with them (their reasons name their history)."""
    recommendations_pages_forget(user_ids=[instance.pk])


@receiver(events_recorded, dispatch_uid="shop.recs_pages.events")
def shopper_events_recorded(sender, user_ids=(), session_ids=(), event_types=(), **kwargs) -> None:
    """New events about products: what was bought drops out, and the personalizer may
    answer anew. Searches alone change no recommendation (every search page records
    one), so they keep the page."""
    if set(event_types) - set(PRODUCTLESS_EVENT_TYPES):
        recommendations_pages_forget(user_ids=user_ids, session_ids=session_ids)


@receiver(personalization_changed, dispatch_uid="shop.recs_pages.personalization")
def shopper_personalization_changed(
    sender, user_ids=(), session_ids=(), everyone=False, **kwargs
) -> None:
    recommendations_pages_forget(user_ids=user_ids, session_ids=session_ids, everyone=everyone)
