"""Refreshes of every shopper's cached top-K on the training dashboard: start one, its
live page (chunks done of all, shoppers, shoppers per second; polled as JSON), cancel.

Permissions: ``recommender.view_refreshrun`` to see them, ``recommender.add_refreshrun``
to start one, ``recommender.change_refreshrun`` to cancel one. The training page shows
the 10 newest (ordered by started_at, a small table); a refresh's state is one query.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from recommender.dashboards.training_status import (
    POLL_MILLISECONDS,
    refresh_run_state,
    seconds_text,
)
from recommender.models import RefreshRun
from recommender.serving.refresh import RefreshRefused, refresh_run_end
from recommender.tasks import refresh_run_request
from shop.dashboards.pages import dashboard_render, staff_page

VIEW = "recommender.view_refreshrun"
START = "recommender.add_refreshrun"
CANCEL = "recommender.change_refreshrun"


def section_context(request: HttpRequest, *, limit: int) -> dict:
    """The training page's refresh section (empty for staff who may not see them)."""
    if not request.user.has_perm(VIEW):
        return {"show_refreshes": False}
    refreshes = RefreshRun.objects.select_related("model_version", "requested_by")[:limit]
    return {
        "show_refreshes": True,
        "can_start_refresh": request.user.has_perm(START),
        "refreshes": [
            {
                "run": run,
                "url": reverse("dashboards:training-refresh", args=[run.pk]),
                "duration": seconds_text(run.duration_seconds),
                "state": refresh_run_state(run, can_cancel=False),
            }
            for run in refreshes
        ],
    }


@staff_page(VIEW)
@require_POST
def refresh_start(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(START):
        raise PermissionDenied
    try:
        run = refresh_run_request(user=request.user)
    except RefreshRefused as exc:
        messages.error(request, str(exc))
        return redirect("dashboards:training")
    messages.success(request, f"Refresh {run.pk} queued.")
    return redirect("dashboards:training-refresh", pk=run.pk)


def _refresh(pk: int) -> RefreshRun:
    return get_object_or_404(RefreshRun.objects.select_related("model_version"), pk=pk)


@staff_page(VIEW)
@require_GET
def refresh_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A refresh's live page."""
    run = _refresh(pk)
    context = {
        "run": run,
        "state": refresh_run_state(run, can_cancel=request.user.has_perm(CANCEL)),
        "status_url": reverse("dashboards:training-refresh-status", args=[run.pk]),
        "cancel_url": reverse("dashboards:training-refresh-cancel", args=[run.pk]),
        "poll_ms": POLL_MILLISECONDS,
    }
    return dashboard_render(
        request, "admin/dashboards/training_refresh.html", context, title=f"Refresh {run.pk}"
    )


@staff_page(VIEW)
@require_GET
def refresh_status(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(refresh_run_state(_refresh(pk), can_cancel=request.user.has_perm(CANCEL)))


@staff_page(VIEW)
@require_POST
def refresh_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a queued or running refresh: chunks not yet started skip their shoppers.
    JSON for the page's script (``Accept: application/json``), else back to the page."""
    if not request.user.has_perm(CANCEL):
        raise PermissionDenied
    run = _refresh(pk)
    if run.is_finished:
        note = f"Refresh {run.pk} has already finished ({run.status})."
    else:
        refresh_run_end(refresh_id=run.pk)
        note = f"Refresh {run.pk} cancelled; chunks already running finish."
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({**refresh_run_state(_refresh(pk), can_cancel=True), "message": note})
    messages.info(request, note)
    return redirect("dashboards:training-refresh", pk=pk)


urlpatterns = [
    path("training/refreshes/start/", refresh_start, name="training-refresh-start"),
    path("training/refreshes/<int:pk>/", refresh_page, name="training-refresh"),
    path("training/refreshes/<int:pk>/status/", refresh_status, name="training-refresh-status"),
    path("training/refreshes/<int:pk>/cancel/", refresh_cancel, name="training-refresh-cancel"),
]
