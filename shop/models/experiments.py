"""A/B experiments: an experiment splits the shoppers of one surface (the search order,
or recommendations) between arms by a hash of their id; an exposure records that a
shopper actually saw their arm, with the outcomes that followed (counted by the
``experiments`` rollup, shop.experiments.outcomes).

The invariants the serving code relies on are database constraints: at most one running
experiment per surface, at most one stopped experiment per surface that still serves its
winner, one exposure per shopper and experiment.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = [
    "Experiment",
    "ExperimentArm",
    "ExperimentMetric",
    "ExperimentStatus",
    "ExperimentSurface",
    "Exposure",
]


class ExperimentSurface(models.TextChoices):
    SEARCH = "search", "search order"
    RECOMMENDATIONS = "recommendations", "recommendations"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    RUNNING = "running", "running"
    STOPPED = "stopped", "stopped"


class ExperimentMetric(models.TextChoices):
    CTR = "ctr", "click-through (share of shoppers who clicked)"
    CONVERSION = "conversion", "conversion (share of shoppers who bought)"
    REVENUE = "revenue", "revenue per shopper"


def _new_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    """An A/B test on one surface. Its first arm (position 0) is the control.

    ``minimum_detectable_effect`` is relative to the control (0.1: a 10% lift);
    ``baseline`` is the control's expected value of the primary metric (a rate for
    click-through and conversion) that the planned sample size is computed from; when
    empty, the control's observed value is used.
    """

    name = models.CharField(max_length=200, unique=True)
    hypothesis = models.TextField(blank=True)
    surface = models.CharField(max_length=20, choices=ExperimentSurface.choices)
    status = models.CharField(
        max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    primary_metric = models.CharField(
        max_length=12, choices=ExperimentMetric.choices, default=ExperimentMetric.CTR
    )
    minimum_detectable_effect = models.FloatField(
        default=0.1, help_text="Relative lift the test must be able to detect (0.1 = 10%)."
    )
    baseline = models.FloatField(
        null=True,
        blank=True,
        help_text="Expected control value of the primary metric (e.g. 0.10 click-through); "
        "empty: the control's observed value.",
    )
    alpha = models.FloatField(default=0.05, help_text="Significance level (two-sided).")
    power = models.FloatField(default=0.8)
    # Part of every shopper's hash: a new experiment reshuffles shoppers.
    salt = models.CharField(max_length=32, default=_new_salt, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        "ExperimentArm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner_declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner_declared_at = models.DateTimeField(null=True, blank=True)
    winner_override_reason = models.TextField(
        blank=True,
        help_text="Why staff declared the winner before the test said so (empty: it did).",
    )
    # A stopped search experiment keeps serving its winner to everyone until this is
    # cleared (a model version winner is activated instead).
    serves_winner = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["surface"],
                condition=Q(status="running"),
                name="experiment_one_running_per_surface",
            ),
            models.UniqueConstraint(
                fields=["surface"],
                condition=Q(serves_winner=True),
                name="experiment_one_winner_served_per_surface",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ExperimentStatus]),
                name="experiment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(surface__in=[s.value for s in ExperimentSurface]),
                name="experiment_surface_valid",
            ),
            models.CheckConstraint(
                condition=Q(primary_metric__in=[m.value for m in ExperimentMetric]),
                name="experiment_metric_valid",
            ),
            models.CheckConstraint(
                condition=Q(alpha__gt=0, alpha__lt=0.5), name="experiment_alpha_range"
            ),
            models.CheckConstraint(
                condition=Q(power__gte=0.5, power__lt=1), name="experiment_power_range"
            ),
            models.CheckConstraint(
                condition=Q(minimum_detectable_effect__gt=0), name="experiment_mde_positive"
            ),
            models.CheckConstraint(
                condition=Q(serves_winner=False) | Q(status="stopped", winner__isnull=False),
                name="experiment_serves_only_a_declared_winner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == ExperimentStatus.DRAFT

    @property
    def is_running(self) -> bool:
        return self.status == ExperimentStatus.RUNNING

    @property
    def is_stopped(self) -> bool:
        return self.status == ExperimentStatus.STOPPED


class ExperimentArm(models.Model):
    """One arm: its share of the traffic (percent) and what it serves (``variant``):
    ``{"search_order": "personalized" | "lexical"}`` on the search surface,
    ``{"model_version": <id> | null}`` on recommendations (null: the active model; the
    shop cannot reference the recommender's ModelVersion rows)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0, help_text="0 is the control.")
    share = models.PositiveSmallIntegerField(help_text="Percent of the traffic.")
    variant = models.JSONField(default=dict)

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="arm_unique_name"),
            models.UniqueConstraint(fields=["experiment", "position"], name="arm_unique_position"),
            models.CheckConstraint(
                condition=Q(share__gte=1, share__lte=100), name="arm_share_percent"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="arm_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.share}%)"

    @property
    def is_control(self) -> bool:
        return self.position == 0


class Exposure(models.Model):
    """A shopper saw an arm (the first time), and what they did afterwards while the
    experiment ran: counters recomputed by the ``experiments`` rollup from the shopper's
    events after ``first_exposed_at`` (shop.experiments.outcomes)."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    arm = models.ForeignKey(
        ExperimentArm, on_delete=models.CASCADE, related_name="exposures", db_index=False
    )
    # "u:<user id>" or "s:<session id>": who was hashed into the arm.
    shopper_key = models.CharField(max_length=80)
    # Deleting the user deletes their exposures (they name the shopper).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    session_id = models.CharField(max_length=64, blank=True)
    first_exposed_at = models.DateTimeField(default=timezone.now)
    clicks = models.PositiveIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    outcomes_counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "shopper_key"], name="exposure_unique_shopper"
            ),
            models.CheckConstraint(condition=~Q(shopper_key=""), name="exposure_has_shopper"),
        ]
        indexes = [
            # The report: per-arm aggregates and exposures per day.
            models.Index(
                fields=["experiment", "arm", "first_exposed_at"], name="exposure_arm_time_idx"
            ),
            # A deleted user's exposures (the cascade) without a scan.
            models.Index(
                fields=["user"], name="exposure_user_idx", condition=Q(user__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_key} in {self.arm_id} of experiment {self.experiment_id}"
