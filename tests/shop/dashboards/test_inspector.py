"""The shopper inspector: pick a shopper (username, user id, email, session id, or one
of the recently active), then who they are, their latest events, the recommendations
the shop serves them with reasons, search as them, and the panels later work adds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shop.dashboards import inspector_data, inspector_panels
from shop.dashboards.inspector_panels import InspectorPanel, inspector_panel_register
from shop.dashboards.nav import dashboard_pages
from shop.models import EventType, ShopperProfile
from tests.factories import EventFactory, ProductFactory, UserFactory
from tests.shop.dashboards.test_inspector_explain import PLUGIN, opted_out_session

pytestmark = pytest.mark.django_db
URL = "/admin/dashboards/shoppers/"


def inspect(client, status: int = 200, **params):
    response = client.get(URL, params)
    assert response.status_code == status, response.content[:500]
    return response, response.content.decode()


@pytest.fixture
def ann():
    """A shopper with a search, a click from it, and views."""
    user = UserFactory(username="ann", email="Ann@Example.com")
    now = timezone.now()
    lamp = ProductFactory(title="Brass desk lamp")
    EventFactory(
        user=user,
        product=None,
        event_type=EventType.SEARCH,
        query="lamp",
        session_id="ann-session-0001",
        occurred_at=now - timedelta(minutes=3),
    )
    EventFactory(
        user=user,
        product=lamp,
        event_type=EventType.CLICK,
        query="lamp",
        position=2,
        session_id="ann-session-0001",
        occurred_at=now - timedelta(minutes=2),
    )
    EventFactory(
        user=user,
        product=ProductFactory(title="Green shade"),
        session_id="ann-session-0001",
        occurred_at=now - timedelta(minutes=1),
    )
    return user


def test_the_inspector_is_a_dashboard_at_its_url():
    assert reverse("dashboards:inspector") == URL
    staff = UserFactory(is_staff=True, is_superuser=True)
    pages = {page.url_name: page for page, _url in dashboard_pages(staff)}
    assert (pages["inspector"].permission, pages["inspector"].order) == ("shop.view_event", 40)


def test_staff_need_the_event_view_permission(client):
    client.force_login(UserFactory(username="shopper"))
    assert client.get(URL)["Location"].startswith(reverse("admin:login"))
    staff = UserFactory(username="clerk", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_event"))
    assert client.get(URL).status_code == 200


def test_account_details_and_the_email_lookup_need_the_user_view_permission(client, ann):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(clerk)
    assert client.get(URL, {"find": "ann@example.com"}).status_code == 404  # not by email
    page = client.get(URL, {"user": ann.pk}).content.decode()
    assert "Ann@Example.com" not in page and "Name, email" not in page
    clerk.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(clerk)
    assert "Ann@Example.com" in client.get(URL, {"user": ann.pk}).content.decode()
    assert client.get(URL, {"find": "ann@example.com"}).status_code == 200


def test_without_a_shopper_it_lists_the_recently_active_ones_newest_first(admin_client, ann):
    EventFactory(user=None, session_id="anon-session-42", occurred_at=timezone.now())
    EventFactory(
        user=UserFactory(username="old-bob"), occurred_at=timezone.now() - timedelta(days=30)
    )

    response, page = inspect(admin_client)

    recent = response.context["recent"]
    assert [r.label for r in recent] == ["session anon-session-42", "ann", "old-bob"]
    assert f'href="?user={ann.pk}">ann</a>' in page
    assert 'href="?session=anon-session-42">session anon-session-42</a>' in page


def test_recent_shoppers_read_a_bounded_number_of_events(admin_client, monkeypatch):
    monkeypatch.setattr(inspector_data, "RECENT_EVENTS_SCANNED", 3)
    for n in range(5):
        EventFactory(
            user=None,
            session_id=f"session-{n:04d}",
            occurred_at=timezone.now() - timedelta(minutes=n),
        )

    response, _page = inspect(admin_client)

    assert [r.session_id for r in response.context["recent"]] == [
        "session-0000",
        "session-0001",
        "session-0002",
    ]


@pytest.mark.parametrize("find", ["ann", "ANN@example.COM", "{pk}", " ann "])
def test_a_user_is_found_by_username_email_or_id(admin_client, ann, find):
    response, _page = inspect(admin_client, find=find.format(pk=ann.pk))

    assert response.context["facts"].user == ann


def test_an_anonymous_session_is_found_by_its_id(admin_client):
    EventFactory(user=None, session_id="anon-session-42")

    response, page = inspect(admin_client, find="anon-session-42")

    shopper = response.context["shopper"]
    assert (shopper.user_id, shopper.session_id) == (None, "anon-session-42")
    assert "browser session <code>anon-session-42</code>" in page


def test_a_session_whose_latest_event_was_signed_in_finds_that_user(admin_client, ann):
    response, _page = inspect(admin_client, find="ann-session-0001")

    assert response.context["facts"].user == ann
    assert response.context["shopper"].session_id == "ann-session-0001"


def test_a_session_without_events_is_found_by_its_stored_session(client, admin_client):
    session_id = opted_out_session(client)

    response, page = inspect(admin_client, find=session_id)

    assert response.context["shopper"].session_id == session_id
    assert "Personalization is off for this shopper" in page


def test_an_unknown_shopper_is_said_so_and_the_recent_ones_offered(admin_client, ann):
    response, page = inspect(admin_client, status=404, find="nobody-at-all")

    assert "No shopper is “nobody-at-all”" in page
    assert [r.label for r in response.context["recent"]] == ["ann"]
    inspect(admin_client, status=404, user="999999")
    _response, page = inspect(admin_client, status=404, user="not-a-number")
    assert "is not a user id" in page


def test_several_matches_are_listed_to_pick_from(admin_client):
    first = UserFactory(username="twin1", email="twins@example.com")
    second = UserFactory(username="twin2", email="TWINS@example.com")

    response, page = inspect(admin_client, find="twins@example.com")

    assert [r.user_id for r in response.context["found"]] == [first.pk, second.pk]
    assert f'href="?user={second.pk}">twin2</a>' in page


def test_the_page_says_who_the_shopper_is(admin_client, ann):
    response, page = inspect(admin_client, user=ann.pk)

    facts = response.context["facts"]
    assert (facts.events, facts.events_capped) == (3, False)
    assert facts.shopper.session_id == "ann-session-0001"  # their latest session's
    assert "(of their latest event)" in page
    assert f'href="{reverse("admin:auth_user_change", args=[ann.pk])}">ann</a>' in page
    assert "Ann@Example.com" in page
    assert '<td id="personalization">on</td>' in page


def test_history_lists_the_latest_events_with_products_query_and_position(admin_client, ann):
    response, page = inspect(admin_client, user=ann.pk)

    history = response.context["history"]
    assert [e.event_type for e in history] == ["view", "click", "search"]
    click = history[1]
    assert click.query == "lamp" and click.position == 2
    lamp_url = reverse("admin:shop_product_change", args=[click.product_id])
    assert f'href="{lamp_url}" title="Brass desk lamp">Brass desk lamp</a>' in page
    assert '<td class="num">2</td>' in page


def test_history_is_capped_with_a_link_to_the_event_log(admin_client, ann):
    EventFactory.create_batch(inspector_data.HISTORY_EVENTS, user=ann)

    response, page = inspect(admin_client, user=ann.pk)

    assert len(response.context["history"]) == inspector_data.HISTORY_EVENTS
    assert response.context["history_more"]
    events_url = reverse("admin:shop_event_changelist") + f"?user__id__exact={ann.pk}"
    assert f'older ones: <a href="{events_url}">the event log</a>' in page
    assert admin_client.get(events_url).context["cl"].result_count == 53


def test_an_anonymous_shoppers_history_is_their_sessions(admin_client, ann):
    EventFactory(
        user=None,
        session_id="anon-session-42",
        query="tent",
        product=None,
        event_type=EventType.SEARCH,
    )

    response, _page = inspect(admin_client, session="anon-session-42")

    assert [e.query for e in response.context["history"]] == ["tent"]
    assert response.context["facts"].user is None


def test_recommendations_come_with_their_score_and_reason(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = PLUGIN

    response, page = inspect(admin_client, user=ann.pk, k="2")

    rows = response.context["recommendations"]
    assert len(rows) == 2
    _n, product, item, score = rows[0]
    assert item.reason == f"Because you viewed “{product.title}”"
    assert f"<td>Because you viewed “{product.title}”</td>" in page
    assert score == "0.5" and '<td class="num">0.5</td>' in page


def test_what_the_personalizer_knows_is_shown(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = PLUGIN

    response, page = inspect(admin_client, user=ann.pk)

    assert response.context["described"] == {
        "Segment": "warm (5 interactions)",
        "Served model": "v7 (test)",
    }
    assert '<tr class="described"><th>Segment</th><td>warm (5 interactions)</td></tr>' in page


def test_the_default_personalizer_has_nothing_to_describe(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"

    _response, page = inspect(admin_client, user=ann.pk)

    assert "The personalizer says nothing more about this shopper" in page


def test_an_opted_out_user_is_shown_what_they_really_get(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = PLUGIN
    ShopperProfile.objects.create(user=ann, personalization_opt_out=True)

    response, page = inspect(admin_client, user=ann.pk, q="lamp")

    assert not response.context["shopper"].personalize
    assert "Personalization is off for this shopper" in page
    assert "they opted out in their profile" in page
    reasons = {item.reason for _n, _p, item, _score in response.context["recommendations"]}
    assert reasons and reasons <= {"Popular right now", "New in the shop"}  # the default's
    assert "This shopper opted out of personalization" in page


def test_an_anonymous_sessions_opt_out_is_read_from_its_session(client, admin_client, settings):
    settings.SHOP_PERSONALIZER = PLUGIN
    session_id = opted_out_session(client)
    EventFactory(user=None, session_id=session_id)

    response, page = inspect(admin_client, session=session_id)

    assert response.context["facts"].opt_out.session
    assert "their session keeps the choice" in page


def test_search_as_this_shopper_shows_the_explain_table_on_the_page(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = PLUGIN
    ProductFactory(title="Reading lamp")

    response, page = inspect(admin_client, user=ann.pk, q="lamp")

    explained = response.context["explained"]
    assert explained.shopper == response.context["shopper"]
    # The plug-in reverses the text order (which differs between database backends).
    assert [r.unpersonalized_position for r in explained.rows] == [2, 1]
    assert {r.hit.product.title for r in explained.rows} == {"Reading lamp", "Brass desk lamp"}
    assert 'id="search-as-form"' in page and '<table id="explain"' in page
    assert f'<input type="hidden" name="user" value="{ann.pk}">' in page


def test_planned_panels_are_marked_empty_slots(admin_client, ann):
    response, page = inspect(admin_client, user=ann.pk)

    planned = [p.key for p in response.context["panels"] if p.planned]
    assert planned == ["churn", "ratings", "ads"]
    assert page.count("Not available yet") == 3


@pytest.fixture
def registered_panels():
    yield inspector_panel_register
    for key in ("churn", "broken"):
        inspector_panels.inspector_panel_unregister(key)


def test_a_registered_panel_takes_its_slot_and_a_failing_one_stays_contained(
    admin_client, ann, registered_panels
):
    registered_panels(
        InspectorPanel(
            key="churn",
            title="Churn risk",
            order=1,
            template="admin/dashboards/inspector_style.html",  # any template renders
            context=lambda *, shopper: {"user_id": shopper.user_id},
        )
    )
    registered_panels(
        InspectorPanel(
            key="broken",
            title="Broken",
            order=2,
            template="x.html",
            context=lambda *, shopper: 1 / 0,
        )
    )

    response, page = inspect(admin_client, user=ann.pk)

    panels = {p.key: p for p in response.context["panels"]}
    assert panels["churn"].html and not panels["churn"].planned
    assert panels["broken"].error == "ZeroDivisionError"
    assert "This panel failed (ZeroDivisionError)" in page
    assert page.count("Not available yet") == 2


def test_the_shopper_page_costs_the_same_queries_whatever_the_history(admin_client, ann, settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    inspect(admin_client, user=ann.pk)
    with CaptureQueriesContext(connection) as few:
        inspect(admin_client, user=ann.pk)
    EventFactory.create_batch(30, user=ann, session_id="ann-session-0001")
    with CaptureQueriesContext(connection) as many:
        inspect(admin_client, user=ann.pk)
    assert len(many) == len(few), [q["sql"][:150] for q in many.captured_queries]
