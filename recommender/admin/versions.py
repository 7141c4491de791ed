"""Staff compare, activate and roll back model versions. Activating and rolling back go
through the models dashboard's confirmation page (it shows what changes first): the
list's action and the rollback URL lead there."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import urlencode

from recommender.models import ModelVersion
from recommender.training.scorecard import (
    MEASURES,
    VALIDATION,
    model_rows,
    segment_table,
    served_metrics,
    served_name,
)
from recommender.training.versions import config_table

METRICS_TEMPLATE = "admin/recommender/modelversion/metrics_table.html"
CONFIG_TEMPLATE = "admin/recommender/modelversion/config_table.html"


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
    readonly_fields = [
        f.name for f in ModelVersion._meta.fields if f.name not in ("metrics", "config")
    ]
    exclude = ("metrics", "config")
    actions = ("activate_version",)
    change_list_template = "admin/recommender/modelversion/change_list.html"
    change_form_template = "admin/recommender/modelversion/change_form.html"

    def has_add_permission(self, request):
        return False

    @admin.display(description="served")
    def served_kind(self, obj: ModelVersion) -> str:
        return served_name(obj.metrics)

    @admin.display(description="best baseline NDCG@10")
    def best_baseline(self, obj: ModelVersion) -> str:
        values = [m.get("ndcg@10") or 0 for m in obj.metrics.get("baselines", {}).values()]
        return f"{max(values):.4f}" if values else ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page with the run's figures and the config as tables, full width below
        the fields (change_form.html)."""
        version = self.get_object(request, unquote(object_id))
        if version is not None:
            extra_context = {
                **(extra_context or {}),
                "metrics_table": self.metrics_table(version),
                "config_table": render_to_string(
                    CONFIG_TEMPLATE, {"settings": config_table(version.config or {})}
                ),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def metrics_table(self, version: ModelVersion) -> str:
        """Every candidate and baseline of the run ("n/a" where not measured), then the
        served model by segment with its shoppers."""
        return render_to_string(
            METRICS_TEMPLATE,
            {
                "rows": model_rows(version.metrics),
                "plain_measures": [VALIDATION, *(m for m in MEASURES if not m.group)],
                "shopper_measures": [m for m in MEASURES if m.group == "segments"],
                "product_measures": [m for m in MEASURES if m.group == "products"],
                "segments": segment_table(served_metrics(version.metrics)),
                "served": served_name(version.metrics),
            },
        )

    @admin.action(description="Activate the selected version…", permissions=["change"])
    def activate_version(self, request, queryset):
        """To the confirmation page of the one selected version (it activates on POST)."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return None
        version = queryset.get()
        back = reverse("admin:recommender_modelversion_changelist")
        url = reverse("dashboards:models_activate", args=[version.pk])
        return HttpResponseRedirect(f"{url}?{urlencode({'next': back})}")

    def get_urls(self):
        rollback = path(
            "rollback/",
            self.admin_site.admin_view(self.rollback_view),
            name="recommender_modelversion_rollback",
        )
        return [rollback, *super().get_urls()]

    def rollback_view(self, request):
        """The rollback's old URL: to its confirmation page (which checks the permission
        and rolls back on POST)."""
        back = reverse("admin:recommender_modelversion_changelist")
        url = reverse("dashboards:models_rollback")
        return HttpResponseRedirect(f"{url}?{urlencode({'next': back})}")
