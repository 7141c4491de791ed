"""Staff endpoints of the shop: search analytics, a shopper's history and
recommendations. Each needs shop.view_event: anonymous 401, staff without it 403."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from shop.api.staff import HasPermission
from shop.models import EventType, ShopperProfile
from shop.shoppers import shopper_opt_out_forget
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db

ANALYTICS_URL = reverse("v1:staff-search-analytics")


def history_url(user_id):
    return reverse("v1:staff-shopper-history", args=[user_id])


def recommendations_url(user_id):
    return reverse("v1:staff-shopper-recommendations", args=[user_id])


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def staff_with(*permissions):
    user = UserFactory(is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def support():
    return client_for(staff_with("shop.view_event"))


@pytest.fixture
def shopper():
    return UserFactory()


@pytest.mark.parametrize(
    "url",
    [ANALYTICS_URL, "history", "recommendations"],
)
def test_every_staff_endpoint_needs_the_event_permission(url, shopper, fake_personalizer):
    url = {
        "history": history_url(shopper.pk),
        "recommendations": recommendations_url(shopper.pk),
    }.get(url, url)
    anonymous = Client().get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"

    for user in (UserFactory(), UserFactory(is_staff=True), staff_with("shop.add_event")):
        refused = client_for(user).get(url)
        assert refused.status_code == 403
        assert refused.json()["code"] == "permission_denied"

    for user in (staff_with("shop.view_event"), UserFactory(is_superuser=True)):
        assert client_for(user).get(url).status_code == 200


def test_a_bearer_token_is_accepted(client, shopper):
    staff = staff_with("shop.view_event")
    token = AccessToken.for_user(staff)
    response = client.get(ANALYTICS_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200


def test_has_permission_needs_the_permission_of_the_method():
    class View:
        required_permissions = {"GET": "shop.view_event"}

    class Request:
        def __init__(self, method, user):
            self.method, self.user = method, user

    viewer = staff_with("shop.view_event")
    assert HasPermission().has_permission(Request("GET", viewer), View())
    assert HasPermission().has_permission(Request("HEAD", viewer), View())
    assert not HasPermission().has_permission(Request("POST", viewer), View())


def test_search_analytics_reports_queries_and_positions(support, shopper):
    now = timezone.now()
    EventFactory(
        user=shopper,
        product=None,
        event_type=EventType.SEARCH,
        query="Lipstick",
        context={"results": 2, "shown": [1, 2]},
        occurred_at=now - timedelta(days=2),
    )
    EventFactory(
        user=shopper,
        product=None,
        event_type=EventType.SEARCH,
        query="lipstik",
        context={"results": 0, "shown": []},
        occurred_at=now - timedelta(days=2),
    )
    EventFactory(
        user=shopper,
        event_type=EventType.CLICK,
        query="lipstick",
        position=2,
        occurred_at=now - timedelta(days=1),
    )

    body = support.get(ANALYTICS_URL, {"days": 7}).json()

    assert body["searches"] == 2 and body["clicks"] == 1
    assert body["top_queries"][0] == {
        "query": "lipstick",
        "searches": 1,
        "clicks": 1,
        "click_through_rate": 1.0,
    }
    assert [z["query"] for z in body["zero_result_queries"]] == ["lipstik"]
    assert len(body["positions"]) == 20
    assert body["positions"][1] == {
        "position": 2,
        "impressions": 1,
        "clicks": 1,
        "click_through_rate": 1.0,
    }


def test_search_analytics_window_excludes_older_events(support, shopper):
    EventFactory(
        user=shopper,
        product=None,
        event_type=EventType.SEARCH,
        query="old",
        context={"results": 0},
        occurred_at=timezone.now() - timedelta(days=40),
    )

    assert support.get(ANALYTICS_URL).json()["searches"] == 0
    assert support.get(ANALYTICS_URL, {"days": 60}).json()["searches"] == 1


@pytest.mark.parametrize(
    "params, field",
    [
        ({"days": 0}, "days"),
        ({"days": 366}, "days"),
        ({"days": "x"}, "days"),
        ({"limit": 101}, "limit"),
    ],
)
def test_search_analytics_rejects_bad_parameters(support, params, field):
    response = support.get(ANALYTICS_URL, params)

    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]


def test_history_lists_the_shoppers_events_newest_first_by_cursor(support, shopper):
    now = timezone.now()
    events = [
        EventFactory(
            user=shopper,
            occurred_at=now - timedelta(minutes=n),
            client_event_id=f"u{shopper.pk}:e{n}",
        )
        for n in range(5)
    ]
    EventFactory(occurred_at=now)  # somebody else's

    first = support.get(history_url(shopper.pk), {"page_size": 3}).json()
    second = support.get(first["next"]).json()

    ids = [e["id"] for e in first["results"] + second["results"]]
    assert ids == [e.pk for e in events]
    assert second["next"] is None
    row = first["results"][0]
    assert row["event_id"] == "e0" and row["client_event_id"] == f"u{shopper.pk}:e0"
    assert {"session_id", "received_at", "sku", "type"} <= set(row)


def test_history_of_an_unknown_shopper_is_404(support):
    for user_id in (987654, 2**31 - 1, 10**12):
        response = support.get(history_url(user_id))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_recommendations_are_the_personalizers_with_reasons(
    support, shopper, catalogue, fake_personalizer
):
    fake_personalizer.answer = [catalogue["red"].pk, catalogue["gone"].pk, catalogue["matte"].pk]

    response = support.get(recommendations_url(shopper.pk), {"limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == shopper.pk and body["personalized"] is True
    assert [(p["sku"], p["reason"]) for p in body["results"]] == [
        ("RED-1", "because 0"),
        ("MATTE-1", "because 2"),
    ]  # the inactive product is never shown
    ((_, asked_for, limit),) = fake_personalizer.calls
    assert asked_for.user_id == shopper.pk and asked_for.personalize and limit == 5


def test_recommendations_respect_the_shoppers_opt_out(support, shopper, fake_personalizer):
    ShopperProfile.objects.update_or_create(
        user=shopper, defaults={"personalization_opt_out": True}
    )
    shopper_opt_out_forget(user_id=shopper.pk)

    body = support.get(recommendations_url(shopper.pk)).json()

    assert body["personalized"] is False
    assert fake_personalizer.calls[0][1].personalize is False


def test_recommendations_of_an_unknown_shopper_is_404(support, fake_personalizer):
    assert support.get(recommendations_url(987654)).status_code == 404
    assert fake_personalizer.calls == []


def test_recommendations_limit_is_checked(support, shopper, fake_personalizer):
    response = support.get(recommendations_url(shopper.pk), {"limit": 0})

    assert response.status_code == 400 and "limit" in response.json()["details"]
