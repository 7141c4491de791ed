"""Staff compare, activate and roll back model versions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from recommender.admin.common import staff_post_url
from recommender.models import ModelVersion
from recommender.serving.model import ArtifactError
from recommender.training.versions import model_version_activate, model_version_rollback

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
        rollback = staff_post_url(
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
