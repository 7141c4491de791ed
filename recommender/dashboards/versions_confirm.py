"""Activating a model version, or rolling back, through a confirmation page: GET shows
what would change (versions_change), POST does it with the training services
(model_version_activate / model_version_rollback) and says so. Both need
recommender.change_modelversion.

The form carries the served version and the target it showed; when either changed
before it was posted (another member of staff, a nightly retrain), nothing is done and
the page shows the new comparison instead.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from recommender.dashboards.versions_change import VersionChange, version_change
from recommender.models import ModelVersion
from recommender.serving.model import ArtifactError
from recommender.training.versions import (
    model_version_activate,
    model_version_rollback,
    model_version_rollback_target,
)
from shop.dashboards.pages import dashboard_render, staff_page

CHANGE_PERMISSION = "recommender.change_modelversion"


@staff_page(CHANGE_PERMISSION)
@require_http_methods(["GET", "POST"])
def version_activate(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(ModelVersion, pk=pk)
    return _confirmed(request, version_change(action="activate", target=target))


@staff_page(CHANGE_PERMISSION)
@require_http_methods(["GET", "POST"])
def version_rollback(request: HttpRequest) -> HttpResponse:
    target = model_version_rollback_target()
    return _confirmed(request, version_change(action="rollback", target=target))


def _pk(version: ModelVersion | None) -> str:
    return "" if version is None else str(version.pk)


def _confirmed(request: HttpRequest, change: VersionChange) -> HttpResponse:
    """The confirmation page (GET, or a stale POST), or the change done (POST)."""
    next_url = _next_url(request)
    if request.method == "POST":
        shown = (request.POST.get("current", ""), request.POST.get("target", ""))
        if shown != (_pk(change.current), _pk(change.target)):
            messages.warning(
                request,
                "The served version changed since this page was shown; nothing was done."
                " Here is the comparison with the version served now.",
            )
        elif not change.can_confirm:
            messages.error(request, " ".join(change.warnings) or "Nothing to do.")
            return HttpResponseRedirect(next_url)
        else:
            _perform(request, change)
            return HttpResponseRedirect(next_url)
    if change.target is None:
        title = "Roll back: nothing to roll back to"
    elif change.action == "rollback":
        title = f"Roll back to model v{change.target.pk}?"
    else:
        title = f"Activate model v{change.target.pk}?"
    return dashboard_render(
        request,
        "admin/dashboards/models_confirm.html",
        {"change": change, "next_url": next_url},
        title=title,
    )


def _perform(request: HttpRequest, change: VersionChange) -> None:
    target = change.target
    assert target is not None  # can_confirm
    try:
        if change.action == "rollback":
            activated = model_version_rollback()
        else:
            activated = model_version_activate(version=target)
    except ArtifactError as exc:
        messages.error(
            request, f"Model v{target.pk} refused: {exc}. The served version is unchanged."
        )
        return
    if activated is None:
        messages.warning(request, "There is no earlier version to roll back to.")
        return
    verb = "Rolled back to" if change.action == "rollback" else "Activated"
    messages.success(
        request,
        f"{verb} model v{activated.pk}: it is now served. {change.shoppers:,} shoppers'"
        " cached top-K are being recomputed with it.",
    )


def _next_url(request: HttpRequest) -> str:
    """Where to go afterwards: the ``next`` the page was opened with, if it is on this
    site, else the models dashboard."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("dashboards:models")
