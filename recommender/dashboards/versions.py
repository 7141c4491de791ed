"""The models dashboard: every model version side by side with the candidates and
baselines of its run (NDCG@10, HR@10, MRR, coverage, popularity share; by shopper and
product segment; "n/a" where a version was trained before a figure existed), the served
one marked, charts over time, and links to activate or roll back through a confirmation
page (versions_confirm).

Queries: one read of recommender_modelversion, newest first (a row per training run,
about one a night: a sequential scan and sort of a small table, each row's metrics a few
kilobytes of JSON); the rollback target (created_at order, same table). No event is
read, so the page costs the same with 10 million events as with none.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path

from recommender.dashboards.versions_charts import version_charts, version_groups, versions_csv
from recommender.dashboards.versions_confirm import version_activate, version_rollback
from recommender.models import ModelVersion
from recommender.training.scorecard import MEASURES, VALIDATION, served_name
from recommender.training.versions import model_version_rollback_target
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page

VIEW_PERMISSION = "recommender.view_modelversion"
CHANGE_PERMISSION = "recommender.change_modelversion"
VERSIONS_SHOWN = 20  # in the table; the charts and the CSV have every version

dashboard_register(
    DashboardPage(
        "Models",
        "models",
        VIEW_PERMISSION,
        order=20,
        description="Model versions side by side with their baselines; activate or roll back.",
    )
)


@staff_page(VIEW_PERMISSION)
def models_page(request):
    versions = list(ModelVersion.objects.order_by("-created_at", "-pk"))
    if request.GET.get("csv") == "versions":
        response = HttpResponse(
            versions_csv(version_groups(versions)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="model-versions.csv"'
        return response
    show_all = request.GET.get("all") == "1"
    shown = versions if show_all else versions[:VERSIONS_SHOWN]
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    active = next((v for v in versions if v.is_active), None)
    context = {
        "groups": version_groups(shown),
        "measures": (VALIDATION, *MEASURES),
        "plain_measures": [VALIDATION, *(m for m in MEASURES if not m.group)],
        "shopper_measures": [m for m in MEASURES if m.group == "segments"],
        "product_measures": [m for m in MEASURES if m.group == "products"],
        "active": active,
        "active_model": served_name(active.metrics) if active else "",
        "version_count": len(versions),
        "hidden_count": len(versions) - len(shown),
        "can_change": can_change,
        "rollback_target": model_version_rollback_target() if can_change else None,
    }
    return dashboard_render(
        request,
        "admin/dashboards/models.html",
        context,
        title="Models",
        charts=version_charts(versions[::-1]),
    )


urlpatterns = [
    path("models/", models_page, name="models"),
    path("models/<int:pk>/activate/", version_activate, name="models_activate"),
    path("models/rollback/", version_rollback, name="models_rollback"),
]
