"""The training dashboard: start a run with parameters, the recent runs and refreshes,
the periodic tasks (and whether celery beat runs), and each run's live page: status,
epochs, progress, loss and validation NDCG@10 per epoch, log tail, cancel; its script
polls the run's JSON state (training_status) without reloading the page.

Permissions: the pages need ``recommender.view_trainingrun``; starting a run
``recommender.add_trainingrun`` and cancelling one ``recommender.change_trainingrun``
(as the staff API). Refreshes: recommender.training_refreshes.

Queries: the page reads the 20 newest runs (ordered by created_at, a small table), the
10 newest refreshes and the periodic tasks; a run's state is one query by primary key.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError

from recommender.dashboards import training_refreshes
from recommender.dashboards.training_forms import TrainingRunForm
from recommender.dashboards.training_schedules import periodic_tasks_status
from recommender.dashboards.training_status import (
    POLL_MILLISECONDS,
    decimal_text,
    seconds_text,
    training_history_chart,
    training_run_state,
)
from recommender.models import ModelVersion, TrainingRun
from recommender.tasks import training_run_start
from recommender.training.runs import TrainingPending, training_run_cancel
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page

logger = logging.getLogger(__name__)

VIEW = "recommender.view_trainingrun"
START = "recommender.add_trainingrun"
CANCEL = "recommender.change_trainingrun"
RECENT_RUNS = 20
RECENT_REFRESHES = 10

dashboard_register(
    DashboardPage(
        label="Training",
        url_name="training",
        permission=VIEW,
        order=30,
        description="Start a training run or a refresh and watch it live; periodic tasks.",
    )
)


@staff_page(VIEW)
@require_http_methods(["GET", "POST"])
def training(request: HttpRequest) -> HttpResponse:
    """The page; a POST starts a run with the form's parameters."""
    form = TrainingRunForm()
    if request.method == "POST":
        if not request.user.has_perm(START):
            raise PermissionDenied
        form = TrainingRunForm(request.POST)
        if form.is_valid():
            try:
                run = training_run_start(parameters=form.parameters(), user=request.user)
            except TrainingPending as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Training run {run.pk} queued.")
                return redirect("dashboards:training-run", pk=run.pk)
    return dashboard_render(
        request,
        "admin/dashboards/training.html",
        _page_context(request, form),
        title="Training",
        status=400 if form.errors else 200,
    )


def _page_context(request: HttpRequest, form: TrainingRunForm) -> dict:
    runs = TrainingRun.objects.select_related("requested_by", "model_version")[:RECENT_RUNS]
    schedules = periodic_tasks_status()
    return {
        "form": form,
        "can_start": request.user.has_perm(START),
        "runs": [_run_row(run) for run in runs],
        "active_version": ModelVersion.objects.filter(is_active=True).first(),
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "schedules": schedules,
        "overdue": [row for row in schedules if row.overdue],
        **training_refreshes.section_context(request, limit=RECENT_REFRESHES),
    }


def _run_row(run: TrainingRun) -> dict:
    return {
        "run": run,
        "url": reverse("dashboards:training-run", args=[run.pk]),
        "epochs": f"{run.epoch}/{run.max_epochs}" if run.max_epochs else str(run.epoch or ""),
        "loss": decimal_text(run.loss),
        "validation_ndcg": decimal_text(run.validation_ndcg),
        "duration": seconds_text(run.duration_seconds),
        "version": getattr(run, "model_version", None),
    }


@staff_page(VIEW)
@require_GET
def training_run(request: HttpRequest, pk: int) -> HttpResponse:
    """A run's live page."""
    run = get_object_or_404(TrainingRun.objects.select_related("model_version"), pk=pk)
    state = training_run_state(run, can_cancel=request.user.has_perm(CANCEL))
    context = {
        "run": run,
        "state": state,
        "status_url": reverse("dashboards:training-run-status", args=[run.pk]),
        "cancel_url": reverse("dashboards:training-run-cancel", args=[run.pk]),
        "admin_url": reverse("admin:recommender_trainingrun_change", args=[run.pk]),
        "poll_ms": POLL_MILLISECONDS,
        "parameters": sorted(run.parameters.items()),
    }
    return dashboard_render(
        request,
        "admin/dashboards/training_run.html",
        context,
        title=f"Training run {run.pk}",
        charts=[training_history_chart(run)],
    )


@staff_page(VIEW)
@require_GET
def training_run_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The run's state as JSON (polled by its live page)."""
    run = get_object_or_404(TrainingRun.objects.select_related("model_version"), pk=pk)
    return JsonResponse(training_run_state(run, can_cancel=request.user.has_perm(CANCEL)))


@staff_page(VIEW)
@require_POST
def training_run_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a run: a queued one at once, a running one at its next progress report.
    JSON for the page's script (``Accept: application/json``), else back to the page."""
    if not request.user.has_perm(CANCEL):
        raise PermissionDenied
    run = get_object_or_404(TrainingRun, pk=pk)
    if run.is_finished:
        note = f"Training run {run.pk} has already finished ({run.status})."
    else:
        try:
            training_run_cancel(run=run)
        except OperationalError:
            # Cancelled; only revoking its queued task failed (the broker is down), and
            # a worker refuses a run that is no longer queued anyway.
            logger.warning("Could not revoke the task of training run %s", run.pk, exc_info=True)
        note = f"Cancellation of training run {run.pk} requested."
    if "application/json" in request.headers.get("Accept", ""):
        run = TrainingRun.objects.select_related("model_version").get(pk=pk)
        return JsonResponse({**training_run_state(run, can_cancel=True), "message": note})
    messages.info(request, note)
    return redirect("dashboards:training-run", pk=pk)


urlpatterns = [
    path("training/", training, name="training"),
    path("training/runs/<int:pk>/", training_run, name="training-run"),
    path("training/runs/<int:pk>/status/", training_run_status, name="training-run-status"),
    path("training/runs/<int:pk>/cancel/", training_run_cancel_view, name="training-run-cancel"),
    *training_refreshes.urlpatterns,
]
