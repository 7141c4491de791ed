"""The overview dashboard (/admin/dashboards/): its figures come from the rollups, a
fixed number of queries whatever the number of events, charts with CSV, the date range,
the rollups' state with "Refresh now", links to the other pages, and who may open it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shop.dashboards import overview
from shop.dashboards.nav import dashboard_pages
from shop.models import Event, EventType, RollupState
from shop.rollups import WATERMARK, rollups_refresh
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("dashboards:overview")


@pytest.fixture
def staff(client):
    """A staff user with only the page's permission, signed in."""
    user = UserFactory(username="analyst", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(user)
    return user


def _events_today(count: int, *, start: int = 0) -> None:
    """``count`` events of today: views, searches (one in four finds nothing), a
    recommendation impression and click."""
    now = timezone.now()
    product = ProductFactory()
    shopper = UserFactory()
    for n in range(start, start + count):
        kind = n % 4
        if kind == 0:
            EventFactory(user=shopper, product=product, occurred_at=now)
        elif kind == 1:
            results = 0 if n % 8 == 1 else 7
            EventFactory(
                user=shopper,
                product=None,
                event_type=EventType.SEARCH,
                query="lamp",
                context={"results": results},
                occurred_at=now,
            )
        elif kind == 2:
            EventFactory(
                user=shopper,
                product=None,
                event_type=EventType.IMPRESSION,
                context={"list": "recommendations", "shown": [product.pk]},
                occurred_at=now,
            )
        else:
            EventFactory(
                user=shopper,
                product=product,
                event_type=EventType.CLICK,
                position=1,
                context={"list": "recommendations"},
                occurred_at=now,
            )


def test_the_page_shows_the_ranges_figures_from_the_rollups(client, staff):
    ProductFactory(is_active=False)
    _events_today(16)  # 4 views, 4 searches (2 without results), 4 impressions, 4 clicks
    rollups_refresh()

    response = client.get(URL)

    assert response.status_code == 200
    cards = {label: figure for figure, label, _note in response.context["cards"]}
    assert cards["active products"] == "1" and cards["events in the range"] == "16"
    assert cards["searches"] == "4" and cards["zero-result rate"] == "50.0%"
    assert cards["recommendation click-through"] == "100.0%"
    assert cards["recommendation conversion"] == "0.0%"
    assert cards["shoppers in the range"] == "1"  # one day of events: its exact count
    page = response.content.decode()
    assert "of 2 in all" in page and "Recommended for you" in page
    charts = response.context["charts"]
    assert set(charts) == {
        "events",
        "searches",
        "zero_results",
        "recommendation_rates",
        "recommendations",
    }
    today = timezone.localdate().isoformat()
    events = charts["events"]
    assert events.stacked and events.labels[-1] == today
    assert {s.name: s.values[-1] for s in events.series} == {
        "view": 4,
        "search": 4,
        "recommendation impression": 4,
        "click": 4,
    }
    assert charts["zero_results"].series[0].values[-1] == 0.5
    assert charts["zero_results"].series[0].values[0] is None  # no searches: n/a
    for chart in charts.values():
        assert f'id="{chart.data_id}"' in page or chart.is_empty


def test_the_page_reads_rollups_only_in_a_fixed_number_of_queries(client, staff):
    _events_today(8)
    rollups_refresh()
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"days": 90}).status_code == 200
    _events_today(400, start=8)
    rollups_refresh()

    with CaptureQueriesContext(connection) as many:
        response = client.get(URL, {"days": 90})

    assert response.context["cards"][3][0] == "408"
    assert len(many.captured_queries) == len(few.captured_queries) <= 12
    assert not [q["sql"] for q in many.captured_queries if '"shop_event"' in q["sql"]]


def test_each_chart_downloads_as_csv(client, staff):
    _events_today(8)
    rollups_refresh()
    today = timezone.localdate()

    response = client.get(URL, {"since": str(today - timedelta(days=1)), "csv": "searches"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="searches.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["day", "searches", "zero-result searches"],
        [str(today - timedelta(days=1)), "0", "0"],
        [str(today), "2", "1"],
    ]
    assert client.get(URL, {"csv": "nonsense"}).status_code == 404


def test_a_bad_date_range_is_reported_and_the_default_shown(client, staff):
    response = client.get(URL, {"since": "2026-02-30", "until": "yesterday"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "since: a date as YYYY-MM-DD" in page and "until: a date as YYYY-MM-DD" in page
    assert len(response.context["range"].days) == 30


def test_the_page_warns_when_the_rollups_never_ran_or_are_old(client, staff):
    response = client.get(URL)
    assert response.context["stale"] and "have never run" in response.content.decode()

    rollups_refresh()
    assert not client.get(URL).context["stale"]

    RollupState.objects.filter(name=WATERMARK).update(
        refreshed_at=timezone.now() - timedelta(minutes=31)
    )
    response = client.get(URL)
    assert response.context["stale"]
    assert "last ran over 30 minutes ago" in response.content.decode()


def test_refresh_now_brings_the_rollups_up_to_date(client, staff):
    _events_today(4)
    rollups_refresh()
    _events_today(4, start=4)

    response = client.post(f"{URL}?days=7", follow=True)

    assert response.redirect_chain == [(f"{URL}?days=7", 302)]
    assert "Rollups refreshed" in response.content.decode()
    assert RollupState.objects.get().last_event_id == Event.objects.order_by("-pk")[0].pk
    assert response.context["cards"][3][0] == "8"


def test_with_a_broker_the_refresh_is_queued_and_with_it_down_done_here(
    client, staff, settings, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker: the test settings' memory://
    _events_today(2)
    response = client.post(URL, follow=True)
    assert "Rollups refresh queued on a worker" in response.content.decode()
    assert not RollupState.objects.exists()  # the worker does it

    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(overview.current_app, "send_task", broker_down)
    response = client.post(URL, follow=True)
    assert "Rollups refreshed" in response.content.decode()
    assert RollupState.objects.get().last_event_id == Event.objects.order_by("-pk")[0].pk


def test_refresh_needs_the_csrf_token(staff):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)

    assert strict.post(URL).status_code == 403
    assert not RollupState.objects.exists()


def test_the_page_links_the_dashboards_the_user_may_open_and_the_event_log(client, staff):
    response = client.get(URL, {"since": "2026-06-01", "until": "2026-06-30"})

    page = response.content.decode()
    for dashboard, url in dashboard_pages(staff):
        if dashboard.url_name != "overview":
            assert f'href="{url}"' in page
    events = reverse("admin:shop_event_changelist")
    assert f'href="{events}?occurred_at__gte=2026-06-01T00%3A00%3A00%2B00%3A00' in page
    assert response.context["links"] == [
        (d, u) for d, u in dashboard_pages(staff) if d.url_name != "overview"
    ]


def test_the_event_log_link_opens_that_ranges_events(client, staff):
    EventFactory(occurred_at=datetime(2026, 6, 10, 12, tzinfo=UTC))
    EventFactory(occurred_at=datetime(2026, 7, 10, 12, tzinfo=UTC))
    overview = client.get(URL, {"since": "2026-06-01", "until": "2026-06-30"})

    events = client.get(overview.context["event_list_url"])

    assert events.status_code == 200
    assert [e.occurred_at.month for e in events.context["cl"].result_list] == [6]


def test_a_shopper_who_is_not_staff_is_sent_to_sign_in(client):
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(URL).status_code == 302
    assert not RollupState.objects.exists()


def test_staff_without_the_event_permission_are_refused(client):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(URL).status_code == 403
    assert client.post(URL).status_code == 403
