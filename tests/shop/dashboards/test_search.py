"""The search analytics dashboard: staff with shop.view_event only; totals, top and
zero-result queries with their fixes (a one-click synonym that takes effect at once),
click-through by position, personalized vs lexical order, CSVs; read from the rollups."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shop.analytics.rollup import search_rollups_refresh
from shop.dashboards import search as page
from shop.dashboards import search_fixes
from shop.models import EventType, Synonym, SynonymKind
from shop.search.params import SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("dashboards:search")


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


def staff_with(*permissions):
    user = UserFactory(is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def analyst(client):
    client.force_login(staff_with("shop.view_event"))
    return client


@pytest.fixture
def merchandiser(client):
    client.force_login(staff_with("shop.view_event", "shop.add_synonym"))
    return client


def found(query: str) -> int:
    """How many products the query finds, without the storefront's typo tolerance."""
    params = SearchParams.from_mapping({"q": query})
    return search_products(params=params, shopper=Shopper(), correct_typos=False).total


def logged(query, *, results=2, personalized=True, shown=(1, 2), days_ago=0):
    when = timezone.make_aware(
        datetime.combine(timezone.localdate() - timedelta(days=days_ago), time(12))
    )
    search = EventFactory(
        product=None,
        event_type=EventType.SEARCH,
        query=query,
        context={"results": results, "shown": list(shown), "personalized": personalized},
        occurred_at=when,
    )
    return search, when


def clicked(search, when, position):
    EventFactory(
        event_type=EventType.CLICK,
        query=search.query,
        position=position,
        context={"search_event_id": search.pk},
        occurred_at=when + timedelta(minutes=1),
    )


@pytest.fixture
def searches():
    """Lipstick searched three times (two clicks), "lipstik" twice without results."""
    ProductFactory(title="Matte lipstick")
    for position in (1, 3, None):
        search, when = logged("lipstick", shown=(1, 2, 3))
        if position:
            clicked(search, when, position)
    for _ in range(2):
        logged("lipstik", results=0, shown=(), personalized=False)
    today = timezone.localdate()
    search_rollups_refresh(today - timedelta(days=1), today)


def test_staff_need_the_event_view_permission(client):
    assert client.get(URL).status_code == 302  # to the admin's sign-in
    client.force_login(staff_with())
    assert client.get(URL).status_code == 403
    client.force_login(staff_with("shop.view_event"))
    response = client.get(URL)
    assert response.status_code == 200
    assert ("Search", URL) in [(p.label, url) for p, url in response.context["dashboard_nav"]]


def test_the_page_shows_totals_top_queries_and_positions(analyst, searches):
    response = analyst.get(URL, {"days": 7})

    cards = {label: figure for figure, label, _ in response.context["cards"]}
    assert cards["searches"] == "5"
    assert cards["zero-result rate"] == "40.0%"
    assert cards["click-through"] == "40.0%"
    assert cards["mean clicked position"] == "2.00"
    top = response.context["top_queries"][0]
    assert (top["query"], top["searches"], top["click_through_rate"]) == (
        "lipstick",
        "3",
        "66.7%",
    )
    positions = response.context["charts"]["positions"]
    assert positions.series[0].values[:3] == [1 / 3, 0.0, 1 / 3]
    assert "Too little data to compare" in response.content.decode()


def test_a_zero_result_query_offers_its_spelling_as_a_one_click_synonym(analyst, searches):
    response = analyst.get(URL)

    (row, fix), *_ = response.context["zero_results"]
    assert (row.query, row.zero_result_searches) == ("lipstik", 2)
    assert (fix.finds_now, fix.spelling, fix.synonym) == (False, "lipstick", None)
    assert fix.add_synonym_url == reverse("admin:shop_synonym_add") + "?term=lipstik"
    assert fix.add_rule_url == reverse("admin:shop_searchrule_add") + "?query=lipstik&action=pin"
    # Without the permission to add synonyms, the page names the fix but offers no button.
    assert not response.context["can_add_synonym"]
    assert 'name="alternatives"' not in response.content.decode()


def test_a_spelling_is_looked_up_once_until_the_catalogue_changes(analyst, searches, monkeypatch):
    looked_up = []
    real = search_fixes.did_you_mean
    monkeypatch.setattr(
        search_fixes, "did_you_mean", lambda **kw: looked_up.append(kw) or real(**kw)
    )
    analyst.get(URL)
    analyst.get(URL)
    assert len(looked_up) == 1  # the second view reads the kept suggestion
    ProductFactory(title="Another lipstick")  # a catalogue change: a new generation
    (_, fix), *_ = analyst.get(URL).context["zero_results"]
    assert len(looked_up) == 2 and fix.spelling == "lipstick"


def test_the_one_click_synonym_makes_the_query_find_results_at_once(merchandiser, searches):
    assert found("lipstik") == 0
    assert 'name="alternatives" value="lipstick"' in merchandiser.get(URL).content.decode()

    response = merchandiser.post(
        f"{URL}?days=7", {"term": "lipstik", "alternatives": "lipstick"}, follow=True
    )

    assert response.redirect_chain == [(f"{URL}?days=7", 302)]
    synonym = Synonym.objects.get()
    assert (synonym.term, synonym.alternatives, synonym.kind) == (
        "lipstik",
        "lipstick",
        SynonymKind.REPLACE,
    )
    assert found("lipstik") == 1
    (_, fix), *_ = response.context["zero_results"]
    assert fix.finds_now and fix.synonym == synonym


def test_adding_a_synonym_needs_its_permission_and_a_valid_one(analyst, merchandiser, searches):
    merchandiser.post(URL, {"term": "lipstik", "alternatives": "lipstick"})

    response = merchandiser.post(URL, {"term": "LIPSTIK", "alternatives": "lip"}, follow=True)

    assert "No synonym added" in response.content.decode()
    assert Synonym.objects.count() == 1
    analyst.force_login(staff_with("shop.view_event"))
    assert analyst.post(URL, {"term": "x", "alternatives": "y"}).status_code == 403


def test_personalized_and_lexical_orders_compared_once_both_have_enough(
    analyst, searches, monkeypatch
):
    monkeypatch.setattr(page, "MIN_COMPARE_SEARCHES", 2)

    response = analyst.get(URL)

    orders = response.context["orders"]
    assert orders["enough"]
    assert orders["rows"] == [
        ("Personalized order", "3", "2", "66.7%", "2.00"),
        ("Lexical order", "2", "0", "0.0%", "n/a"),
    ]
    assert "Too little data" not in response.content.decode()
    chart = response.context["charts"]["order_ctr"]
    assert chart.series[0].values[-1] == pytest.approx(2 / 3)


def test_charts_and_query_tables_download_as_csv(analyst, searches):
    chart = analyst.get(URL, {"days": 7, "csv": "positions"})
    table = analyst.get(URL, {"days": 7, "csv": "top_queries"})

    assert chart["Content-Type"].startswith("text/csv")
    assert next(csv.reader(io.StringIO(chart.content.decode()))) == [
        "position",
        "all searches",
        "personalized",
        "lexical",
    ]
    rows = list(csv.reader(io.StringIO(table.content.decode())))
    assert rows[1][:5] == ["lipstick", "3", "0", "2", "0.6667"]
    assert analyst.get(URL, {"csv": "nope"}).status_code == 404


def test_a_bad_range_is_reported_not_raised(analyst):
    response = analyst.get(URL, {"since": "2026-13-01"})

    assert response.status_code == 200
    assert "since: a date as YYYY-MM-DD" in response.content.decode()


def test_the_page_never_reads_the_event_log(analyst, searches):
    with CaptureQueriesContext(connection) as queries:
        analyst.get(URL)

    assert not [q["sql"] for q in queries if '"shop_event"' in q["sql"]]
