"""The dashboards' building blocks: charts (table, CSV), date ranges, the navigation
and the page wrapper (staff sign-in, permission, CSV download)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.test import RequestFactory

from shop.dashboards import nav
from shop.dashboards.charts import Chart, Series, csv_cell, format_value
from shop.dashboards.nav import DashboardPage, dashboard_pages, dashboard_register
from shop.dashboards.pages import dashboard_render, staff_page
from shop.dashboards.ranges import MAX_DAYS, DateRange
from shop.models import DailyActivity


def _chart(**overrides) -> Chart:
    fields = {
        "key": "events",
        "title": "Events per day",
        "labels": ["2026-11-01", "2026-11-02"],
        "series": [Series("views", [3, None]), Series("rate", [0.25, 0.5])],
        "x_title": "day",
    }
    return Chart(**{**fields, **overrides})


def test_a_chart_refuses_series_that_do_not_match_its_labels():
    with pytest.raises(ValueError, match="has 1 values for 2 labels"):
        _chart(series=[Series("views", [1])])
    with pytest.raises(ValueError, match="kind"):
        _chart(kind="pie")


def test_a_chart_gives_its_numbers_as_rows_and_csv():
    chart = _chart(y_format="percent")
    assert chart.rows() == [("2026-11-01", ["300.0%", "25.0%"]), ("2026-11-02", ["n/a", "50.0%"])]
    assert chart.csv().splitlines() == ["day,views,rate", "2026-11-01,3,0.25", "2026-11-02,,0.5"]
    assert chart.spec["series"][0] == {"name": "views", "values": [3, None]}


def test_values_print_n_a_when_missing_and_group_thousands():
    assert format_value(None) == "n/a"
    assert format_value(1234567) == "1,234,567"
    assert format_value(0.12345, "decimal") == "0.1235"
    assert format_value(0.5, "percent") == "50.0%"


def test_an_empty_chart_says_so():
    assert _chart(series=[Series("views", [0, None])]).is_empty
    assert not _chart().is_empty


TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ("", date(2026, 11, 1), TODAY),
        ("days=7", date(2026, 11, 24), TODAY),
        ("since=2026-10-01&until=2026-10-31", date(2026, 10, 1), date(2026, 10, 31)),
        ("since=2026-11-20", date(2026, 11, 20), TODAY),
    ],
)
def test_a_date_range_comes_from_the_query(query, first, last):
    chosen = DateRange.from_query(QueryDict(query), today=TODAY, latest=TODAY)
    assert (chosen.first, chosen.last, chosen.errors) == (first, last, [])
    assert chosen.days[0] == first and chosen.days[-1] == last
    assert (chosen.end - chosen.start).days == len(chosen.days)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("days=0", "days: a whole number from 1 to 366"),
        ("days=x", "days: a whole number"),
        ("since=2026-13-01", "since: a date as YYYY-MM-DD"),
        ("since=2026-11-10&until=2026-11-01", "since: must be on or before until"),
        ("since=2020-01-01&until=2026-01-01", f"at most {MAX_DAYS} days"),
        ("since=9999-12-30&until=9999-12-31", "until: at most a year from today"),
    ],
)
def test_a_bad_range_is_reported_and_the_default_shown(query, error):
    chosen = DateRange.from_query(QueryDict(query), today=TODAY, latest=TODAY)
    assert len(chosen.errors) == 1 and error in chosen.errors[0]
    assert (chosen.first, chosen.last) == (date(2026, 11, 1), TODAY)


def test_without_recent_events_the_default_range_ends_on_the_newest_one():
    newest = date(2014, 7, 20)
    chosen = DateRange.from_query(QueryDict(""), today=TODAY, latest=newest)
    assert (chosen.first, chosen.last) == (date(2014, 6, 21), newest)
    assert "up to the newest event (2014-07-20)" in chosen.note
    asked = DateRange.from_query(QueryDict("days=7"), today=TODAY, latest=newest)
    assert (asked.first, asked.last, asked.note) == (date(2026, 11, 24), TODAY, "")


@pytest.mark.django_db
def test_the_newest_day_is_read_from_the_activity_rollup():
    DailyActivity.objects.create(day=date(2015, 1, 31))
    chosen = DateRange.from_query(QueryDict(""), today=TODAY)
    assert chosen.last == date(2015, 1, 31)


@pytest.fixture
def page(db):
    registered = dashboard_register(
        DashboardPage("Test page", "test-page", "shop.view_event", order=999)
    )
    yield registered
    nav._PAGES.pop("test-page", None)


def _user(*permissions: str, staff: bool = True):
    user = get_user_model().objects.create_user(
        username=f"u{len(permissions)}{staff}", password="pw", is_staff=staff
    )
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # permissions are cached per object


def test_the_navigation_lists_only_pages_the_user_may_open_and_that_are_mounted(page):
    # "test-page" is registered but has no URL: never listed.
    viewer = _user("view_event")
    assert "Test page" not in [p.label for p, _ in dashboard_pages(viewer)]
    nobody = _user()
    assert dashboard_pages(nobody) == []


@staff_page("shop.view_event")
def _view(request):
    return dashboard_render(
        request, "admin/dashboards/base.html", {}, title="Test", charts=[_chart()]
    )


def _get(user, query=""):
    request = RequestFactory().get(f"/admin/dashboards/test/?{query}")
    request.user = user
    request.session = SessionStore()
    return _view(request)


@pytest.mark.django_db
def test_a_page_needs_staff_and_its_permission():
    assert _get(_user("view_event", staff=False)).status_code == 302  # to the admin sign-in
    with pytest.raises(PermissionDenied):
        _get(_user())
    response = _get(_user("view_event"))
    response.render()
    assert response.status_code == 200
    assert b'id="chart-events"' in response.content
    assert b"csv=events" in response.content


@pytest.mark.django_db
def test_a_page_serves_a_charts_csv_and_404s_an_unknown_one():
    viewer = _user("view_event")
    response = _get(viewer, "csv=events")
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("day,views,rate")
    with pytest.raises(Http404):
        _get(viewer, "csv=nope")


def test_csv_text_cannot_run_as_a_spreadsheet_formula():
    chart = Chart(
        key="queries",
        title="Queries",
        labels=['=HYPERLINK("http://x")', "+1", "@sum", "lipstick"],
        series=[Series("searches", [-3, 1, 2, 4])],
    )
    rows = list(csv.reader(io.StringIO(chart.csv())))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x")', "'+1", "'@sum", "lipstick"]
    assert rows[1][1] == "-3"  # numbers stay numbers
    assert csv_cell("-x") == "'-x" and csv_cell(-1.5) == -1.5
