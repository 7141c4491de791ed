"""Celery tasks of the shop: ids and counts in, a service called."""

from __future__ import annotations

from celery import shared_task

from shop.popularity import popularity_refresh
from shop.rollups import rollups_refresh


@shared_task(name="shop.tasks.popularity_refresh", ignore_result=True)
def popularity_refresh_task() -> dict:
    """Scheduled every 10 minutes: products' popularity and trending figures catch up
    with the event log."""
    return popularity_refresh()


@shared_task(name="shop.tasks.rollups_refresh", ignore_result=True)
def rollups_refresh_task() -> dict:
    """Scheduled every few minutes: the dashboards' rollups catch up with the event log."""
    return rollups_refresh()
