"""Staff start, follow and cancel training runs and recommendation refreshes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from recommender.admin.common import staff_post_url
from recommender.models import RefreshRun, TrainingRun
from recommender.tasks import training_run_enqueue
from recommender.training.runs import training_run_cancel, training_run_create


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "trigger",
        "requested_by",
        "epoch",
        "loss",
        "validation_ndcg",
        "device",
        "created_at",
        "duration",
        "version_link",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("requested_by", "model_version")
    readonly_fields = [f.name for f in TrainingRun._meta.fields] + [
        "duration",
        "version_link",
        "log",
    ]
    exclude = ("log_tail",)
    actions = ("cancel_runs",)
    change_list_template = "admin/recommender/trainingrun/change_list.html"

    def has_add_permission(self, request):
        return False  # runs are started with the "Train a model" button

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
        if not self.has_change_permission(request):
            raise PermissionDenied
        run = training_run_create(parameters={"activate": "if_better"}, user=request.user)
        training_run_enqueue(run=run)
        self.message_user(request, f"Training run {run.pk} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_trainingrun_change", args=[run.pk]))


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "model_version",
        "started_at",
        "finished_at",
        "chunks",
        "users",
        "users_per_second",
    )
    list_select_related = ("model_version",)
    readonly_fields = [f.name for f in RefreshRun._meta.fields]

    def has_add_permission(self, request):
        return False
