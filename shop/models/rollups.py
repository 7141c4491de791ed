"""Rollup tables the staff dashboards read (refreshed by Celery from the event log):
a dashboard page reads a few hundred rollup rows, never the millions of events."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["RollupState"]


class RollupState(models.Model):
    """How far the rollups have read the event log: events with ids up to
    ``last_event_id`` are counted (shop.rollups.rollups_refresh)."""

    name = models.CharField(max_length=50, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)
    days_refreshed = models.PositiveIntegerField(default=0, help_text="Days recomputed last time.")
    seconds = models.FloatField(default=0, help_text="How long the last refresh took.")

    def __str__(self) -> str:
        return f"rollup {self.name} up to event {self.last_event_id}"
