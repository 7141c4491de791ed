"""The search analytics dashboard: over a chosen range of days, the top queries with their
click-through and mean clicked position, zero-result queries with suggested fixes (a
one-click synonym from a spelling that has results, prefilled synonym and rule forms),
click-through by position, personalized vs lexical order where both were logged, and
totals. Read from the search rollups (shop.analytics.report), never the event log."""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from shop.analytics.report import QueryFigures, SearchReport, search_report
from shop.dashboards.charts import Chart, Series, csv_writer, format_value
from shop.dashboards.nav import DashboardPage, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page
from shop.dashboards.ranges import DateRange
from shop.dashboards.search_fixes import ONE_CLICK_KIND, zero_result_fixes
from shop.rollups import rollups_state
from shop.search.synonyms import synonym_add

PERMISSION = "shop.view_event"
ADD_SYNONYM = "shop.add_synonym"
TOP_QUERIES = 20
# Below this many searches of either order, the comparison says it has too little data.
MIN_COMPARE_SEARCHES = 100
TABLE_CSV = ("top_queries", "zero_result_queries")

dashboard_register(
    DashboardPage(
        label="Search",
        url_name="search",
        permission=PERMISSION,
        order=50,
        description="Top and zero-result queries with fixes, click-through by position, "
        "personalized vs lexical order.",
    )
)


@staff_page(PERMISSION)
@require_http_methods(["GET", "POST"])
def search_dashboard(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _add_synonym(request)
    date_range = DateRange.from_query(request.GET)
    report = search_report(first=date_range.first, last=date_range.last, limit=TOP_QUERIES)
    if request.GET.get("csv") in TABLE_CSV:
        return _table_csv(report, request.GET["csv"])
    fixes = zero_result_fixes([q.query for q in report.zero_result_queries])
    context = {
        "range": date_range,
        "keep_params": [],
        "state": rollups_state(),
        "cards": _cards(report),
        "top_queries": [_query_row(q) for q in report.top_queries],
        "zero_results": [(q, fixes[q.query]) for q in report.zero_result_queries],
        "orders": _orders(report),
        "can_add_synonym": request.user.has_perm(ADD_SYNONYM),
        "one_click_kind": ONE_CLICK_KIND,
        "explain_url": reverse("admin:shop_searchrule_explain"),
        "synonyms_url": reverse("admin:shop_synonym_changelist"),
        "rules_url": reverse("admin:shop_searchrule_changelist"),
        "table_csv": {key: _csv_query(request, key) for key in TABLE_CSV},
    }
    return dashboard_render(
        request,
        "admin/dashboards/search.html",
        context,
        title="Search analytics",
        charts=_charts(report, date_range),
    )


def _add_synonym(request: HttpRequest) -> HttpResponse:
    """The one-click fix: the zero-result query searched as its respelling."""
    if not request.user.has_perm(ADD_SYNONYM):
        raise PermissionDenied
    term = request.POST.get("term", "")
    alternatives = request.POST.get("alternatives", "")
    try:
        synonym = synonym_add(
            term=term,
            alternatives=alternatives,
            kind=ONE_CLICK_KIND,
            note=f"From the search dashboard, by {request.user.get_username()}"[:200],
        )
    except ValidationError as error:
        reasons = "; ".join(m for messages_ in error.message_dict.values() for m in messages_)
        messages.error(request, f"No synonym added for “{term[:80]}”: {reasons}")
    else:
        messages.success(
            request,
            f"Synonym added: “{synonym.term}” now searches “{synonym.alternatives}”. "
            "It applies to searches at once.",
        )
    query = request.GET.urlencode()
    return redirect(f"{reverse('dashboards:search')}{'?' + query if query else ''}")


def _percent(value: float | None) -> str:
    return format_value(value, "percent")


def _decimal(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _query_row(figures: QueryFigures) -> dict:
    return {
        "query": figures.query,
        "searches": f"{figures.searches:,}",
        "zero_result_searches": f"{figures.zero_result_searches:,}",
        "clicks": f"{figures.clicks:,}",
        "click_through_rate": _percent(figures.click_through_rate),
        "mean_clicked_position": _decimal(figures.mean_clicked_position),
    }


def _cards(report: SearchReport) -> list[tuple[str, str, str]]:
    """(figure, label, note) of each card."""
    totals = report.totals
    return [
        (f"{totals.searches:,}", "searches", "first pages of a query"),
        (f"{report.distinct_queries:,}", "distinct queries", "normalized"),
        (_percent(totals.zero_result_rate), "zero-result rate", "searches that found nothing"),
        (f"{totals.clicks:,}", "result clicks", "clicks that named their query"),
        (_percent(totals.click_through_rate), "click-through", "clicks per search"),
        (
            _decimal(totals.mean_clicked_position),
            "mean clicked position",
            "1 is the first result",
        ),
    ]


def _orders(report: SearchReport) -> dict:
    """Personalized vs lexical order over the range: their figures, and whether there is
    enough of each to compare."""
    personalized, lexical = report.totals.personalized, report.totals.lexical
    rows = [
        ("Personalized order", personalized),
        ("Lexical order", lexical),
    ]
    enough = min(personalized.searches, lexical.searches) >= MIN_COMPARE_SEARCHES
    return {
        "rows": [
            (
                label,
                f"{figures.searches:,}",
                f"{figures.clicks:,}",
                _percent(figures.click_through_rate),
                _decimal(figures.mean_clicked_position),
            )
            for label, figures in rows
        ],
        "enough": enough,
        "minimum": MIN_COMPARE_SEARCHES,
        "unlogged": report.totals.searches - personalized.searches - lexical.searches,
    }


def _charts(report: SearchReport, date_range: DateRange) -> list[Chart]:
    labels = date_range.labels
    days = [d.figures for d in report.days]
    positions = report.positions
    return [
        Chart(
            key="searches",
            title="Searches per day",
            labels=labels,
            series=[
                Series("searches", [d.searches for d in days]),
                Series("without results", [d.zero_result_searches for d in days]),
                Series("result clicks", [d.clicks for d in days]),
            ],
            x_title="day",
        ),
        Chart(
            key="positions",
            title="Click-through by position (clicks per search showing it)",
            labels=[str(p.position) for p in positions],
            series=[
                Series("all searches", [p.click_through_rate for p in positions]),
                Series("personalized", [p.personalized_click_through_rate for p in positions]),
                Series("lexical", [p.lexical_click_through_rate for p in positions]),
            ],
            kind="bar",
            y_format="percent",
            x_title="position",
        ),
        Chart(
            key="order_ctr",
            title="Click-through per day: personalized vs lexical order",
            labels=labels,
            series=[
                Series("personalized", [d.personalized.click_through_rate for d in days]),
                Series("lexical", [d.lexical.click_through_rate for d in days]),
            ],
            y_format="percent",
            x_title="day",
        ),
        Chart(
            key="order_position",
            title="Mean clicked position per day: personalized vs lexical order",
            labels=labels,
            series=[
                Series("personalized", [d.personalized.mean_clicked_position for d in days]),
                Series("lexical", [d.lexical.mean_clicked_position for d in days]),
            ],
            y_format="decimal",
            x_title="day",
        ),
        Chart(
            key="order_searches",
            title="Searches per day by order",
            labels=labels,
            series=[
                Series("personalized", [d.personalized.searches for d in days]),
                Series("lexical", [d.lexical.searches for d in days]),
            ],
            kind="bar",
            stacked=True,
            x_title="day",
        ),
    ]


def _csv_query(request: HttpRequest, key: str) -> str:
    query = request.GET.copy()
    query["csv"] = key
    return query.urlencode()


def _table_csv(report: SearchReport, key: str) -> HttpResponse:
    """A query table as CSV (every column of the page's table, unformatted)."""
    rows: list[QueryFigures] = (
        report.top_queries if key == "top_queries" else report.zero_result_queries
    )
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(
        [
            "query",
            "searches",
            "zero_result_searches",
            "clicks",
            "click_through_rate",
            "mean_clicked_position",
            "last_zero_result_day",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.query,
                row.searches,
                row.zero_result_searches,
                row.clicks,
                "" if row.click_through_rate is None else round(row.click_through_rate, 4),
                "" if row.mean_clicked_position is None else round(row.mean_clicked_position, 2),
                row.last_day.isoformat() if row.last_day else "",
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{key}-{stamp}.csv"'
    return response


urlpatterns = [path("search/", search_dashboard, name="search")]
