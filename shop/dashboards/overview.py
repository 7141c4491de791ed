"""The overview dashboard: catalogue size, shoppers, events per day by type, searches and
their zero-result rate, the recommendation lists' click-through and conversion, over a
chosen date range; when the rollups last ran, and links into the other dashboards.

It reads the rollup tables (shop.activity) and three counts of small tables, never the
event log: a fixed number of queries whatever the log's size (tests assert it)."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode

from celery import current_app
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from shop.activity import ActivityReport, activity_report, rate
from shop.dashboards.charts import Chart, Series, format_value
from shop.dashboards.nav import DashboardPage, dashboard_pages, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page
from shop.dashboards.ranges import DateRange
from shop.models import EventType, Product, RecommendationList
from shop.rollups import rollups_refresh, rollups_state

logger = logging.getLogger(__name__)
# The Celery task that refreshes the rollups (shop.tasks).
ROLLUPS_TASK = "shop.tasks.rollups_refresh"

PERMISSION = "shop.view_event"
# The rollups run every 10 minutes: older than this, the page says they may be stuck.
STALE_AFTER = timedelta(minutes=30)
LIST_LABELS = dict(RecommendationList.choices)
TYPE_LABELS = dict(EventType.choices)

dashboard_register(
    DashboardPage(
        label="Overview",
        url_name="overview",
        permission=PERMISSION,
        order=10,
        description="Catalogue, shoppers, events, searches and recommendations per day.",
    )
)


@staff_page(PERMISSION)
@require_http_methods(["GET", "POST"])
def overview(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _refresh(request)
    date_range = DateRange.from_query(request.GET)
    report = activity_report(first=date_range.first, last=date_range.last)
    state = rollups_state()
    context = {
        "range": date_range,
        "keep_params": [],
        "cards": _cards(report),
        "lists": _list_rows(report),
        "state": state,
        "stale": state is None or timezone.now() - state.refreshed_at > STALE_AFTER,
        "links": [
            (page, url)
            for page, url in dashboard_pages(request.user)
            if page.url_name != "overview"
        ],
        "event_list_url": _event_list_url(date_range),
    }
    return dashboard_render(
        request,
        "admin/dashboards/overview.html",
        context,
        title="Overview",
        charts=_charts(report, date_range),
    )


def _event_list_url(date_range: DateRange) -> str:
    """The admin's event list over the range (its occurred_at index bounds it)."""
    bounds = {
        "occurred_at__gte": date_range.start.isoformat(),
        "occurred_at__lt": date_range.end.isoformat(),
    }
    return f"{reverse('admin:shop_event_changelist')}?{urlencode(bounds)}"


def _refresh(request: HttpRequest) -> HttpResponse:
    """Bring the rollups up to date now (incremental: the days new events fell on): on
    a worker when there is a broker (the task by name: the views do not import the
    tasks), else, or when the broker is down, in this request."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            current_app.send_task(ROLLUPS_TASK)
        except Exception:  # the broker is down: refresh here rather than fail
            logger.warning("Could not queue %s; refreshing in the request", ROLLUPS_TASK)
        else:
            messages.info(request, "Rollups refresh queued on a worker: reload in a moment.")
            return _back_to_overview(request)
    done = rollups_refresh()
    messages.success(
        request,
        f"Rollups refreshed: {done['days']} day(s) recomputed in {done['seconds']:.1f} s.",
    )
    return _back_to_overview(request)


def _back_to_overview(request: HttpRequest) -> HttpResponse:
    query = request.GET.urlencode()
    return redirect(f"{reverse('dashboards:overview')}{'?' + query if query else ''}")


def _cards(report: ActivityReport) -> list[tuple[str, str, str]]:
    """(figure, label, note) of each card."""
    catalogue = Product.objects.aggregate(
        every=Count("pk"), active=Count("pk", filter=Q(is_active=True))
    )
    accounts = get_user_model().objects.filter(is_active=True).count()
    searches = report.total("searches")
    clicks = report.total("clicks")
    shoppers = f"{'≈' if report.shoppers_estimated else ''}{report.shoppers_in_range:,}"
    return [
        (f"{catalogue['active']:,}", "active products", f"of {catalogue['every']:,} in all"),
        (f"{accounts:,}", "registered shoppers", "active accounts"),
        (
            shoppers,
            "shoppers in the range",
            "users and anonymous sessions"
            + (" (estimated, ±2%)" if report.shoppers_estimated else ""),
        ),
        (f"{report.total('events'):,}", "events in the range", ""),
        (f"{searches:,}", "searches", ""),
        (
            _percent(rate(report.total("zero_result_searches"), searches)),
            "zero-result rate",
            "searches that found nothing",
        ),
        (
            _percent(rate(clicks, report.total("impressions"))),
            "recommendation click-through",
            "clicks per list shown",
        ),
        (
            _percent(rate(report.total("conversions"), clicks)),
            "recommendation conversion",
            "clicks bought within 24 h",
        ),
    ]


def _list_rows(report: ActivityReport) -> list[dict]:
    rows = []
    for name, figures in report.recommendations.items():
        impressions = sum(figures["impressions"])
        clicks = sum(figures["clicks"])
        conversions = sum(figures["conversions"])
        rows.append(
            {
                "label": LIST_LABELS.get(name, name),
                "impressions": f"{impressions:,}",
                "clicks": f"{clicks:,}",
                "conversions": f"{conversions:,}",
                "ctr": _percent(rate(clicks, impressions)),
                "conversion": _percent(rate(conversions, clicks)),
            }
        )
    return rows


def _charts(report: ActivityReport, date_range: DateRange) -> list[Chart]:
    labels = date_range.labels
    days = range(len(labels))
    lists = report.recommendations
    impressions = [sum(lists[n]["impressions"][d] for n in lists) for d in days]
    clicks = [sum(lists[n]["clicks"][d] for n in lists) for d in days]
    conversions = [sum(lists[n]["conversions"][d] for n in lists) for d in days]
    rates = []
    for name, figures in lists.items():
        label = LIST_LABELS.get(name, name)
        rates.append(
            Series(
                f"click-through: {label}",
                [
                    rate(c, i)
                    for c, i in zip(figures["clicks"], figures["impressions"], strict=True)
                ],
            )
        )
        rates.append(
            Series(
                f"conversion: {label}",
                [
                    rate(v, c)
                    for v, c in zip(figures["conversions"], figures["clicks"], strict=True)
                ],
            )
        )
    return [
        Chart(
            key="events",
            title="Events per day by type",
            labels=labels,
            series=[
                Series(TYPE_LABELS.get(name, name), values)
                for name, values in report.events_by_type.items()
            ],
            kind="bar",
            stacked=True,
            x_title="day",
        ),
        Chart(
            key="searches",
            title="Searches per day",
            labels=labels,
            series=[
                Series("searches", report.searches),
                Series("zero-result searches", report.zero_result_searches),
            ],
            kind="bar",
            x_title="day",
        ),
        Chart(
            key="zero_results",
            title="Zero-result rate per day",
            labels=labels,
            series=[
                Series(
                    "zero-result rate",
                    [
                        rate(z, s)
                        for z, s in zip(report.zero_result_searches, report.searches, strict=True)
                    ],
                )
            ],
            y_format="percent",
            x_title="day",
        ),
        Chart(
            key="recommendation_rates",
            title="Recommendation click-through and conversion per day",
            labels=labels,
            series=rates,
            y_format="percent",
            x_title="day",
        ),
        Chart(
            key="recommendations",
            title="Recommendation impressions, clicks and conversions per day",
            labels=labels,
            series=[
                Series("impressions", impressions),
                Series("clicks", clicks),
                Series("conversions", conversions),
            ],
            kind="bar",
            x_title="day",
        ),
    ]


def _percent(value: float | None) -> str:
    return format_value(value, "percent")


urlpatterns = [path("", overview, name="overview")]
