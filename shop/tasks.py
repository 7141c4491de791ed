"""Celery tasks of the shop: ids and counts in, a service called."""

from __future__ import annotations

from celery import shared_task

from shop.events.popularity import product_popularity_add


@shared_task(name="shop.tasks.product_popularity_add", ignore_result=True, acks_late=True)
def product_popularity_add_task(weights: dict[str, int]) -> None:
    """Add the app's event batches' weights to their products' popularity."""
    product_popularity_add(weights={int(pid): weight for pid, weight in weights.items()})
