"""Rollup tables the staff dashboards read (refreshed by Celery from the event log):
a dashboard page reads a few hundred rollup rows, never the millions of events."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

__all__ = ["DailyActivity", "DailyEventType", "DailyRecommendations", "RollupState"]


class RollupState(models.Model):
    """How far the rollups have read the event log: events with ids up to
    ``last_event_id`` are counted (shop.rollups.rollups_refresh)."""

    name = models.CharField(max_length=50, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=timezone.now)
    days_refreshed = models.PositiveIntegerField(default=0, help_text="Days recomputed last time.")
    seconds = models.FloatField(default=0, help_text="How long the last refresh took.")
    anchor_day = models.DateField(
        null=True, blank=True, help_text="The newest event's day when it last ran (popularity)."
    )

    def __str__(self) -> str:
        return f"rollup {self.name} up to event {self.last_event_id}"


class DailyActivity(models.Model):
    """One day of the event log (shop.activity): its events, its distinct shoppers
    (a user, or an anonymous session), and its searches.

    ``shopper_sketch`` is a HyperLogLog sketch of the day's shoppers: the sketches of a
    range merge into an estimate of the range's distinct shoppers (a sum of the days'
    counts would count a returning shopper once per day)."""

    day = models.DateField(unique=True)
    events = models.PositiveBigIntegerField(default=0)
    shoppers = models.PositiveIntegerField(default=0)
    shopper_sketch = models.BinaryField(default=bytes)
    searches = models.PositiveIntegerField(default=0)
    zero_result_searches = models.PositiveIntegerField(
        default=0, help_text="Searches that found nothing to show."
    )

    class Meta:
        verbose_name_plural = "daily activity"
        constraints = [
            models.CheckConstraint(
                condition=Q(zero_result_searches__lte=F("searches")),
                name="dailyactivity_zero_results_within_searches",
            ),
            models.CheckConstraint(
                condition=Q(searches__lte=F("events")), name="dailyactivity_searches_are_events"
            ),
        ]

    def __str__(self) -> str:
        return f"activity of {self.day}"


class DailyEventType(models.Model):
    """Events of one type on one day, and the distinct shoppers behind them."""

    day = models.DateField()
    event_type = models.CharField(max_length=20)
    events = models.PositiveBigIntegerField(default=0)
    shoppers = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "event_type"], name="dailyeventtype_unique_day"),
            models.CheckConstraint(
                condition=Q(shoppers__lte=F("events")), name="dailyeventtype_shoppers_within_events"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.events} {self.event_type} on {self.day}"


class DailyRecommendations(models.Model):
    """One recommendation list on one day: how often it was shown, how often one of its
    cards was clicked, and how many of those clicks converted (shop.activity defines
    the attribution)."""

    day = models.DateField()
    list = models.CharField(max_length=20)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(
        default=0, help_text="Clicks followed by a purchase of the product within 24 h."
    )

    class Meta:
        verbose_name_plural = "daily recommendations"
        constraints = [
            models.UniqueConstraint(fields=["day", "list"], name="dailyrecommendations_unique_day"),
            models.CheckConstraint(
                condition=Q(conversions__lte=F("clicks")),
                name="dailyrecommendations_conversions_within_clicks",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.list} on {self.day}"
