"""What the recommender learns and serves: training runs, model versions, cached top-K."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shop.models import EventType

# Events that say something about interest in a product (searches name no product;
# impressions and cart removals are not interest).
TRAINING_EVENT_TYPES = (
    EventType.VIEW,
    EventType.CLICK,
    EventType.ADD_TO_CART,
    EventType.PURCHASE,
    EventType.RATING,
    EventType.AD_CLICK,
)


class StopReason(models.TextChoices):
    """Why the transformer's training loop ended."""

    TIME_CAP = "time_cap", "the time cap (max_train_seconds)"
    EARLY_STOPPING = "early_stopping", "early stopping (no better validation)"
    MAX_EPOCHS = "max_epochs", "the last epoch (max_epochs)"
    CANCELLED = "cancelled", "cancellation"


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Overrides of the model config."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(
        max_length=20, default="manual", help_text="manual, schedule or command"
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Progress, updated by the worker while it trains.
    epoch = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    validation_ndcg = models.FloatField("validation NDCG@10", null=True, blank=True)
    device = models.CharField(max_length=200, blank=True)
    log_tail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # What the live page draws and says: the stage the run is in, the epochs it may
    # train, each trained epoch ({"epoch", "loss", "val_ndcg", "elapsed"}), and why
    # the transformer's training stopped (and whether validation was still improving).
    phase = models.CharField(max_length=40, blank=True)
    max_epochs = models.PositiveIntegerField(null=True, blank=True)
    steps_per_epoch = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True, help_text="One entry per epoch.")
    stopped_by = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    still_improving = models.BooleanField(
        null=True, blank=True, help_text="The last validation was the best so far."
    )
    # Timings.
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one run trains at a time; a crashed worker's run is reaped by its
            # stale heartbeat (services.training_runs_reap_stale), freeing the slot.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_training_run_at_a_time"
            ),
        ]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def stop_note(self) -> str:
        """Why training stopped, in a sentence staff act on ("" before it stopped)."""
        epoch = f"epoch {self.epoch}" + (f" of {self.max_epochs}" if self.max_epochs else "")
        if self.stopped_by == StopReason.TIME_CAP:
            cap = self.parameters.get("max_train_seconds")
            budget = f" ({cap:g} s)" if isinstance(cap, int | float) else ""
            if self.still_improving:
                return (
                    f"Stopped by the time cap{budget} at {epoch} while validation NDCG@10 was"
                    " still improving; a longer budget (max_train_seconds) may help."
                )
            return f"Stopped by the time cap{budget} at {epoch}; validation NDCG@10 had stopped improving."
        if self.stopped_by == StopReason.EARLY_STOPPING:
            return f"Stopped early at {epoch}: validation NDCG@10 stopped improving."
        if self.stopped_by == StopReason.MAX_EPOCHS:
            more = (
                " Validation NDCG@10 was still improving at the last epoch; more epochs (max_epochs) may help."
                if self.still_improving
                else ""
            )
            return f"Trained every epoch ({self.epoch}).{more}"
        if self.stopped_by == StopReason.CANCELLED:
            return f"Cancelled at {epoch}."
        return ""

    @property
    def stopped_while_improving(self) -> bool:
        """A cap (time or epochs) ended training while validation still got better."""
        return bool(self.still_improving) and self.stopped_by in (
            StopReason.TIME_CAP,
            StopReason.MAX_EPOCHS,
        )


class ModelVersion(models.Model):
    run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    artifact_path = models.CharField(max_length=500, help_text="Artifact directory.")
    config = models.JSONField(default=dict)
    metrics = models.JSONField(
        default=dict, help_text="Holdout metrics of the model and the baselines."
    )
    holdout_ndcg = models.FloatField("holdout NDCG@10", null=True, blank=True)
    event_count = models.PositiveBigIntegerField(default=0)
    user_count = models.PositiveIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    data_cutoff = models.DateTimeField(null=True, blank=True, help_text="Newest event used.")
    device = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    refused_reason = models.TextField(
        blank=True, help_text="Why activation was refused, if it was."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Model v{self.pk}{' (active)' if self.is_active else ''}"


class UserRecommendation(models.Model):
    """A shopper's cached top-K from one model version (Redis keeps a copy in front)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    # [[product_id, score, reason_product_id or null], ...], best first.
    items = models.JSONField(default=list)
    # The shopper's vector (float32 bytes) and latest product ids (newest first) from the
    # same pass: search re-ranks with them without running the model per request.
    vector = models.BinaryField(null=True, blank=True, editable=False)
    recent = models.JSONField(default=list, blank=True)
    # Products the shopper bought within the history the model reads (search demotes
    # them: a shopper rarely searches for what they already have).
    purchased = models.JSONField(default=list, blank=True)
    # The newest of the shopper's events that the row has seen: a newer one means the
    # row is behind (its refresh is queued) and search computes the vector itself.
    last_event_id = models.BigIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["model_version"], name="userrec_version_idx")]

    def __str__(self) -> str:
        return f"Top-{len(self.items)} of user {self.user_id}"


class RefreshRun(models.Model):
    """One fan-out refresh of every shopper's cached top-K: queued (started by staff,
    not yet picked up) -> running (chunks of user ids done one by one) -> succeeded,
    cancelled (the chunks not yet started skip their work) or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="refreshes"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    users_per_second = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Refresh {self.pk} of {self.model_version}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def duration_seconds(self) -> float:
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()


class SearchBlend(models.Model):
    """Weights of the search re-ranking blend (see recommender.search_ranking).

    The newest row is used; without one the personalizer uses the offline-tuned
    defaults. Rows are written by ``search_blend_learn_from_clicks`` (learning to rank
    on logged search -> click events) or by staff.
    """

    class Source(models.TextChoices):
        CLICKS = "clicks", "learned from search clicks"
        OFFLINE = "offline", "tuned offline"
        STAFF = "staff", "edited by staff"

    weights = models.JSONField(help_text="Feature name -> weight.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLICKS)
    searches = models.PositiveIntegerField(default=0, help_text="Searches learned from.")
    metrics = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Who edited it, and why.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Search blend {self.pk} ({self.source}, {self.searches} searches)"
