"""What every dashboard page does: staff sign-in through the admin site, a Django
permission per page, the admin's look and the dashboards' navigation, and the CSV of
any chart on the page (``?csv=<chart key>``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from shop.dashboards.charts import Chart
from shop.dashboards.nav import dashboard_pages
from shop.dashboards.ranges import QUICK_RANGES


def staff_page(permission: str) -> Callable:
    """Behind the admin's login (non-staff go to its sign-in page) and ``permission``
    (a signed-in staff user without it gets 403)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate


def dashboard_render(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    title: str,
    charts: Iterable[Chart] = (),
    status: int = 200,
) -> HttpResponse:
    """The page, or the CSV of the chart that ``?csv=`` names."""
    charts = list(charts)
    wanted = request.GET.get("csv")
    if wanted is not None:
        chart = next((c for c in charts if c.key == wanted), None)
        if chart is None:
            raise Http404(f"This page has no chart {wanted!r}.")
        response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{chart.key}.csv"'
        return response
    for chart in charts:
        query = request.GET.copy()
        query["csv"] = chart.key
        chart.csv_query = query.urlencode()
    page = {
        **admin.site.each_context(request),
        "title": title,
        "dashboard_nav": dashboard_pages(request.user),
        "charts": {c.key: c for c in charts},
        "quick_ranges": QUICK_RANGES,
        **context,
    }
    return TemplateResponse(request, template, page, status=status)
