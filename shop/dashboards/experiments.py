"""A/B experiments in the admin: the list, a new experiment with its arms, its report
(per-arm click-through, conversion and revenue per shopper with 95% intervals, lift and
p-value against the control, sample-ratio check, planned sample size and progress,
charts, CSV), start, stop and declare the winner (a confirmation page).

Reads the experiment's exposures (one row per exposed shopper, with its outcome
counters kept by the ``experiments`` rollup), never the event log; the queries are in
shop.experiments.report.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from shop.dashboards.experiments_forms import (
    DEFAULT_ARMS,
    ArmFormSet,
    DeclareWinnerForm,
    ExperimentForm,
)
from shop.dashboards.experiments_report import (
    METRIC_NAMES,
    report_charts,
    report_csv,
    report_rows,
)
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page
from shop.experiments.report import experiment_report, winner_blockers
from shop.experiments.services import (
    ExperimentError,
    experiment_create,
    experiment_declare_winner,
    experiment_start,
    experiment_stop,
    experiment_stop_serving_winner,
)
from shop.experiments.variants import variant_label
from shop.models import Experiment, ExperimentMetric, ExperimentSurface, Exposure
from shop.rollups import rollups_state

VIEW = "shop.view_experiment"
ADD = "shop.add_experiment"
CHANGE = "shop.change_experiment"
PAGE_SIZE = 50

dashboard_register(
    DashboardPage(
        "Experiments",
        "experiments",
        VIEW,
        60,
        "A/B tests of search orders and model versions: per-arm results, significance, winners.",
    )
)


@staff_page(VIEW)
def experiment_list(request: HttpRequest) -> HttpResponse:
    # One index-only count per listed experiment (exposure_unique_shopper).
    exposed = (
        Exposure.objects.filter(experiment=OuterRef("pk"))
        .order_by()
        .values("experiment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    experiments = (
        Experiment.objects.select_related("winner")
        .prefetch_related("arms")
        .annotate(shoppers=Coalesce(Subquery(exposed, output_field=IntegerField()), 0))
        .order_by("-created_at", "-pk")[:PAGE_SIZE]
    )
    return dashboard_render(
        request,
        "admin/dashboards/experiments.html",
        {
            "experiments": experiments,
            "can_change": request.user.has_perm(CHANGE),
            "page_size": PAGE_SIZE,
        },
        title="Experiments",
    )


@staff_page(ADD)
def experiment_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ExperimentForm(request.POST)
        arms = ArmFormSet(request.POST, prefix="arms")
        arms.surface = request.POST.get("surface")
        if form.is_valid() and arms.is_valid():
            try:
                experiment = experiment_create(
                    **form.experiment_fields(), arms=arms.specs(), created_by=request.user
                )
            except ExperimentError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Experiment “{experiment.name}” created as a draft.")
                return redirect("dashboards:experiment", experiment.pk)
    else:
        form = ExperimentForm(initial={"surface": ExperimentSurface.SEARCH})
        arms = ArmFormSet(prefix="arms", initial=DEFAULT_ARMS)
    return dashboard_render(
        request,
        "admin/dashboards/experiment_form.html",
        {"form": form, "arms": arms},
        title="New experiment",
    )


@staff_page(VIEW)
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment.objects.select_related("winner"), pk=pk)
    report = experiment_report(experiment=experiment)
    if request.GET.get("csv") == "arms":
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="experiment-{pk}-arms.csv"'
        return response
    metric = experiment.primary_metric
    return dashboard_render(
        request,
        "admin/dashboards/experiment_report.html",
        {
            "experiment": experiment,
            "report": report,
            "rows": report_rows(report),
            "metric_names": list(METRIC_NAMES.values()),
            "mde_percent": f"{experiment.minimum_detectable_effect * 100:g}",
            "primary_name": METRIC_NAMES[ExperimentMetric(metric)],
            "progress_percent": round((report.progress or 0) * 100, 1),
            "baseline_text": _baseline_text(experiment, report.baseline),
            "winner_label": variant_label(experiment.winner.variant) if experiment.winner else "",
            "rollups": rollups_state(),
            "can_change": request.user.has_perm(CHANGE),
        },
        title=f"Experiment: {experiment.name}",
        charts=report_charts(report),
    )


@require_POST
@staff_page(CHANGE)
def experiment_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        functools.partial(experiment_start, user=request.user),
        "started: shoppers are being assigned",
    )


@require_POST
@staff_page(CHANGE)
def experiment_stop_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, experiment_stop, "stopped: everyone gets the default again")


@require_POST
@staff_page(CHANGE)
def experiment_unserve_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        experiment_stop_serving_winner,
        "no longer serves its winner: everyone gets the default order",
    )


def _act(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        action(experiment=experiment)
    except ExperimentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Experiment “{experiment.name}” {done}.")
    return redirect("dashboards:experiment", pk)


@staff_page(CHANGE)
def experiment_declare(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirmation page: each arm's primary result and what stands in the way of it
    winning; declaring stops the experiment and makes the winner permanent."""
    experiment = get_object_or_404(Experiment, pk=pk)
    if experiment.is_draft or experiment.winner_id is not None:
        messages.error(request, "Only a started experiment without a winner can get one.")
        return redirect("dashboards:experiment", pk)
    report = experiment_report(experiment=experiment)
    arms = [r.arm for r in report.arms]
    blockers = {arm.pk: winner_blockers(report, arm) for arm in arms}
    form = DeclareWinnerForm(request.POST or None, arms=arms, blockers=blockers)
    if request.method == "POST" and form.is_valid():
        arm = next(a for a in arms if a.pk == int(form.cleaned_data["arm"]))
        try:
            done = experiment_declare_winner(
                experiment=experiment,
                arm=arm,
                user=request.user,
                override_reason=form.cleaned_data["override_reason"],
            )
        except ExperimentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, " ".join([f"“{arm.name}” declared the winner.", *done]).strip()
            )
            return redirect("dashboards:experiment", pk)
    metric = experiment.primary_metric
    rows = report_rows(report)
    primary_index = list(METRIC_NAMES).index(ExperimentMetric(metric))
    choices = [
        {
            "arm": row.result.arm,
            "label": row.result.label,
            "shoppers": row.result.shoppers,
            "cell": row.cells[primary_index],
            "blockers": blockers[row.result.arm.pk],
            "effect": _winner_effect(experiment, row.result.arm),
        }
        for row in rows
    ]
    return dashboard_render(
        request,
        "admin/dashboards/experiment_declare.html",
        {
            "experiment": experiment,
            "report": report,
            "form": form,
            "choices": choices,
            "primary_name": METRIC_NAMES[ExperimentMetric(metric)],
            "report_url": reverse("dashboards:experiment", args=[pk]),
        },
        title=f"Declare the winner of {experiment.name}",
    )


def _winner_effect(experiment: Experiment, arm) -> str:
    """What declaring ``arm`` changes, in a sentence."""
    if experiment.surface == ExperimentSurface.SEARCH:
        return (
            f"The experiment stops and keeps serving the {variant_label(arm.variant)} to "
            "everyone, until you stop that or start another search experiment."
        )
    version = arm.variant.get("model_version")
    if version is None:
        return "The experiment stops; the active model stays active."
    return f"The experiment stops and model v{version} becomes the active model for everyone."


def _baseline_text(experiment: Experiment, baseline: float | None) -> str:
    if baseline is None:
        return "not known yet"
    figure = (
        f"{baseline:,.2f} per shopper"
        if experiment.primary_metric == ExperimentMetric.REVENUE
        else f"{baseline * 100:.2f}%"
    )
    source = "observed in the control" if experiment.baseline is None else "as planned"
    return f"{figure} ({source})"


urlpatterns = [
    path("experiments/", experiment_list, name="experiments"),
    path("experiments/new/", experiment_new, name="experiment_new"),
    path("experiments/<int:pk>/", experiment_detail, name="experiment"),
    path("experiments/<int:pk>/start/", experiment_start_view, name="experiment_start"),
    path("experiments/<int:pk>/stop/", experiment_stop_view, name="experiment_stop"),
    path("experiments/<int:pk>/unserve/", experiment_unserve_view, name="experiment_unserve"),
    path("experiments/<int:pk>/declare/", experiment_declare, name="experiment_declare"),
]
