"""Staff start, follow and cancel training runs and recommendation refreshes (the
training dashboard is their live page; these are the admin's list and change pages)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from recommender.admin.common import live_link, rounded, staff_post_url
from recommender.models import RefreshRun, TrainingRun
from recommender.tasks import training_run_start
from recommender.training.runs import TrainingPending, training_run_cancel

# Shown by methods (rounded, linked, or as a block); the raw fields are left out.
TRAINING_RUN_HIDDEN = {"log_tail", "loss", "validation_ndcg", "history", "timings"}


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "trigger",
        "requested_by",
        "epoch",
        "loss_rounded",
        "validation_rounded",
        "device",
        "created_at",
        "duration",
        "version_link",
        "live",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("requested_by", "model_version")
    readonly_fields = [
        "live",
        *(f.name for f in TrainingRun._meta.fields if f.name not in TRAINING_RUN_HIDDEN),
        "loss_rounded",
        "validation_rounded",
        "stop_note",
        "duration",
        "timings_text",
        "version_link",
        "log",
    ]
    exclude = tuple(TRAINING_RUN_HIDDEN)
    actions = ("cancel_runs",)
    change_list_template = "admin/recommender/trainingrun/change_list.html"

    def has_add_permission(self, request):
        return False  # runs are started on the training dashboard or with the button

    @admin.display(description="live page")
    def live(self, obj: TrainingRun) -> str:
        return live_link("dashboards:training-run", obj.pk)

    @admin.display(description="loss")
    def loss_rounded(self, obj: TrainingRun) -> str:
        return rounded(obj.loss)

    @admin.display(description="validation NDCG@10")
    def validation_rounded(self, obj: TrainingRun) -> str:
        return rounded(obj.validation_ndcg)

    @admin.display(description="why training stopped")
    def stop_note(self, obj: TrainingRun) -> str:
        return obj.stop_note or "-"

    @admin.display(description="seconds per phase")
    def timings_text(self, obj: TrainingRun) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in obj.timings.items()) or "-"

    @admin.display(description="duration")
    def duration(self, obj: TrainingRun) -> str:
        seconds = obj.duration_seconds
        return "" if seconds is None else f"{seconds:.0f} s"

    @admin.display(description="model version")
    def version_link(self, obj: TrainingRun) -> str:
        version = getattr(obj, "model_version", None)
        if version is None:
            return ""
        url = reverse("admin:recommender_modelversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.pk)

    @admin.display(description="log")
    def log(self, obj: TrainingRun) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.log_tail or "-")

    @admin.action(description="Cancel selected runs", permissions=["change"])
    def cancel_runs(self, request, queryset):
        for run in queryset:
            training_run_cancel(run=run)
        self.message_user(
            request, "Cancellation requested; running runs stop at their next progress report."
        )

    def get_urls(self):
        start = staff_post_url(self, "start/", self.start_view, "recommender_trainingrun_start")
        return [start, *super().get_urls()]

    def start_view(self, request):
        """ "Train a model now": a run with the default parameters, followed live."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            run = training_run_start(parameters={"activate": "if_better"}, user=request.user)
        except TrainingPending as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return HttpResponseRedirect(reverse("dashboards:training-run", args=[exc.run.pk]))
        self.message_user(request, f"Training run {run.pk} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("dashboards:training-run", args=[run.pk]))


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "model_version",
        "started_at",
        "finished_at",
        "chunks_done",
        "chunks",
        "users",
        "per_second",
        "live",
    )
    list_filter = ("status",)
    list_select_related = ("model_version",)
    readonly_fields = [
        "live",
        *(f.name for f in RefreshRun._meta.fields if f.name != "users_per_second"),
        "per_second",
    ]
    exclude = ("users_per_second",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="live page")
    def live(self, obj: RefreshRun) -> str:
        return live_link("dashboards:training-refresh", obj.pk)

    @admin.display(description="shoppers per second")
    def per_second(self, obj: RefreshRun) -> str:
        return "" if obj.users_per_second is None else f"{obj.users_per_second:,.0f}"
