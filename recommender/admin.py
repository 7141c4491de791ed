"""Staff tooling: start, follow and cancel training; compare, activate and roll back
model versions; inspect a shopper's cached top-K."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from recommender.models import ModelVersion, RefreshRun, TrainingRun, UserRecommendation
from recommender.serving.model import ArtifactError
from recommender.tasks import training_run_enqueue
from recommender.training.runs import training_run_cancel, training_run_create
from recommender.training.versions import model_version_activate, model_version_rollback
from shop.models import Product


def _staff_post_url(model_admin: admin.ModelAdmin, route: str, view, name: str):
    """A POST-only page of ``model_admin``, behind the admin site's login."""
    return path(route, model_admin.admin_site.admin_view(require_POST(view)), name=name)


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
        start = _staff_post_url(self, "start/", self.start_view, "recommender_trainingrun_start")
        return [start, *super().get_urls()]

    def start_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        run = training_run_create(parameters={"activate": "if_better"}, user=request.user)
        training_run_enqueue(run=run)
        self.message_user(request, f"Training run {run.pk} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_trainingrun_change", args=[run.pk]))


METRIC_COLUMNS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr", "coverage@10")
METRIC_HEADER = mark_safe(  # constant markup, no data in it
    "<tr><th>model</th><th>kind</th><th>served</th><th>validation NDCG@10</th>"
    "<th>HR@10</th><th>NDCG@10</th><th>HR@20</th><th>NDCG@20</th><th>MRR</th>"
    "<th>coverage@10</th><th>NDCG@10 cold / warm / hot</th></tr>"
)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _metric_cells(name: str, kind: str, served: str, metrics: dict) -> tuple[str, ...]:
    segments = metrics.get("segments", {})
    by_segment = " / ".join(
        _fmt(segments.get(s, {}).get("ndcg@10")) for s in ("cold", "warm", "hot")
    )
    return (
        name,
        kind,
        served,
        _fmt(metrics.get("validation_ndcg@10")),
        *(_fmt(metrics.get(key)) for key in METRIC_COLUMNS),
        by_segment,
    )


def _metric_rows(metrics: dict) -> list[tuple[str, ...]]:
    """Every candidate of the run (the served one marked), then the baselines. A version
    trained before candidates existed has one model row: the transformer it served."""
    candidates = metrics.get("candidates")
    if candidates:
        rows = [
            _metric_cells(name, m.get("kind", ""), "served" if m.get("served") else "", m)
            for name, m in candidates.items()
        ]
    else:
        rows = [_metric_cells("model", "transformer", "served", metrics.get("model", {}))]
    baselines = [
        # The run's untuned item transitions beside its tuned candidate of the same name.
        _metric_cells(
            f"{name} (untuned)" if name in (candidates or {}) else name, "baseline", "", m
        )
        for name, m in metrics.get("baselines", {}).items()
    ]
    return rows + baselines


def _metric_table(metrics: dict) -> str:
    body = format_html_join("", "<tr>" + "<td>{}</td>" * 11 + "</tr>", _metric_rows(metrics))
    return format_html("<table>{}{}</table>", METRIC_HEADER, body)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "is_active",
        "served_kind",
        "holdout_ndcg",
        "best_baseline",
        "event_count",
        "user_count",
        "item_count",
        "device",
        "created_at",
        "activated_at",
    )
    list_filter = ("is_active",)
    readonly_fields = [f.name for f in ModelVersion._meta.fields if f.name != "metrics"] + [
        "holdout_table"
    ]
    exclude = ("metrics",)
    actions = ("activate_version",)
    change_list_template = "admin/recommender/modelversion/change_list.html"

    def has_add_permission(self, request):
        return False

    @admin.display(description="served")
    def served_kind(self, obj: ModelVersion) -> str:
        model = obj.metrics.get("model", {})
        return model.get("name") or ("sasrec_fused" if model else "")

    @admin.display(description="best baseline NDCG@10")
    def best_baseline(self, obj: ModelVersion) -> str:
        values = [m.get("ndcg@10") or 0 for m in obj.metrics.get("baselines", {}).values()]
        return f"{max(values):.4f}" if values else ""

    @admin.display(
        description="candidates and baselines (validation NDCG@10; the rest on the holdout:"
        " time-ordered leave-last-out, history excluded)"
    )
    def holdout_table(self, obj: ModelVersion) -> str:
        return _metric_table(obj.metrics)

    @admin.action(description="Activate the selected version", permissions=["change"])
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        try:
            model_version_activate(version=version)
        except ArtifactError as exc:
            self.message_user(request, f"Model v{version.pk} refused: {exc}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Model v{version.pk} is now active; the cached top-K is being refreshed.",
            messages.SUCCESS,
        )

    def get_urls(self):
        rollback = _staff_post_url(
            self, "rollback/", self.rollback_view, "recommender_modelversion_rollback"
        )
        return [rollback, *super().get_urls()]

    def rollback_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            version = model_version_rollback()
        except ArtifactError as exc:
            self.message_user(request, f"Rollback refused: {exc}", messages.ERROR)
        else:
            if version is None:
                self.message_user(
                    request, "There is no earlier version to roll back to.", messages.WARNING
                )
            else:
                self.message_user(request, f"Rolled back to model v{version.pk}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_modelversion_changelist"))


@admin.register(UserRecommendation)
class UserRecommendationAdmin(admin.ModelAdmin):
    list_display = ("user", "model_version", "size", "computed_at")
    list_select_related = ("user", "model_version")
    raw_id_fields = ("user",)
    search_fields = ("=user__username", "=user__id")
    readonly_fields = ("user", "model_version", "computed_at", "items_table")
    exclude = ("items",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="items")
    def size(self, obj):
        return len(obj.items)

    @admin.display(description="top-K (product, score, reason)")
    def items_table(self, obj):
        ids = {row[0] for row in obj.items} | {row[2] for row in obj.items if row[2]}
        titles = dict(Product.objects.filter(pk__in=ids).values_list("pk", "title"))
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} <small>({:.4f}; because of: {})</small></li>",
                ((titles.get(p, p), s, titles.get(r, "-")) for p, s, r in obj.items),
            ),
        )


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
