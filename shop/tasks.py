"""Celery tasks of the shop: ids and counts in, a service called."""

from __future__ import annotations

from celery import shared_task

from shop.events.popularity import product_popularity_add
from shop.rollups import rollups_refresh


@shared_task(name="shop.tasks.product_popularity_add", ignore_result=True, acks_late=True)
def product_popularity_add_task(weights: dict[str, int]) -> None:
    """Add the app's event batches' weights to their products' popularity."""
    product_popularity_add(weights={int(pid): weight for pid, weight in weights.items()})


@shared_task(name="shop.tasks.rollups_refresh", ignore_result=True)
def rollups_refresh_task() -> dict:
    """Scheduled every few minutes: the dashboards' rollups catch up with the event log."""
    return rollups_refresh()
