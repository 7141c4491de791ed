"""The search service behind both views: the shopper, the opt-out, the logged search event."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop.models import Event, EventType, ShopperProfile
from shop.personalization import RankSearchFromList, ScoredItem
from tests.factories import UserFactory
from tests.shop.search.helpers import API_SEARCH_URL, SEARCH_URL, run

pytestmark = pytest.mark.django_db


class TasteRecorder(RankSearchFromList):
    """A personalizer that records whether it was asked to personalize."""

    name = "taste-recorder"
    seen: list[bool] = []

    def rank_search(self, *, shopper, query, candidates):
        TasteRecorder.seen.append(shopper.personalize)
        return [ScoredItem(c.product_id, c.score, components=c.components) for c in candidates]

    def recommend(self, *, shopper, limit, exclude=()):
        return []

    def similar(self, *, product_id, shopper, limit):
        return []


def test_a_shopper_who_opted_out_is_searched_without_personalization(client, settings, tools):
    settings.SHOP_PERSONALIZER = f"{__name__}.TasteRecorder"
    user = UserFactory()
    client.force_login(user)
    TasteRecorder.seen = []
    client.get(SEARCH_URL, {"q": "roll"})
    ShopperProfile.objects.create(user=user, personalization_opt_out=True)
    client.get(SEARCH_URL, {"q": "roll"})
    client.get(API_SEARCH_URL, {"q": "roll"})
    assert TasteRecorder.seen == [True, False, False]


def test_the_opt_out_is_read_with_the_user_so_it_is_never_stale(client, settings, tools):
    settings.SHOP_PERSONALIZER = f"{__name__}.TasteRecorder"
    user = UserFactory()
    ShopperProfile.objects.create(user=user)
    client.force_login(user)  # through shop.auth.ShopperBackend, the first backend
    TasteRecorder.seen = []
    client.get(API_SEARCH_URL, {"q": "roll"})
    # An update that sends no signal (nothing forgets a cached opt-out) still shows.
    ShopperProfile.objects.filter(user=user).update(personalization_opt_out=True)
    with CaptureQueriesContext(connection) as queries:
        client.get(API_SEARCH_URL, {"q": "roll"})
    assert TasteRecorder.seen == [True, False]
    # One query reads the profile: the user's, joined.
    profile_reads = [q["sql"] for q in queries if "shop_shopperprofile" in q["sql"]]
    assert len(profile_reads) == 1 and "auth_user" in profile_reads[0]


def test_sessions_of_djangos_model_backend_stay_logged_in_and_opted_out(client, settings, tools):
    settings.SHOP_PERSONALIZER = f"{__name__}.TasteRecorder"
    user = UserFactory()
    ShopperProfile.objects.create(user=user, personalization_opt_out=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    TasteRecorder.seen = []
    response = client.get(SEARCH_URL, {"q": "roll"})
    assert response.wsgi_request.user == user
    assert TasteRecorder.seen == [False]


def test_anonymous_and_logged_in_shoppers_can_opt_out_and_back_in(client, settings, tools):
    settings.SHOP_PERSONALIZER = f"{__name__}.TasteRecorder"
    url = reverse("shop:personalization")
    TasteRecorder.seen = []
    assert client.post(url, {"opt_out": "1", "next": "/search/"}).status_code == 302
    client.get(SEARCH_URL, {"q": "roll"})
    client.post(url, {"opt_out": "0", "next": "https://evil.example/"})
    client.get(SEARCH_URL, {"q": "roll"})
    user = UserFactory()
    client.force_login(user)
    client.post(url, {"opt_out": "1"})
    assert ShopperProfile.objects.get(user=user).personalization_opt_out
    assert TasteRecorder.seen == [False, True]


def test_api_search_returns_the_logged_search_event_with_the_list_shown(client, tools):
    response = client.get(API_SEARCH_URL, {"q": "roll"})
    body = response.json()
    event = Event.objects.get(pk=body["search_event_id"])
    assert event.event_type == EventType.SEARCH
    assert event.query == "roll"
    assert event.context["shown"] == [r["id"] for r in body["results"]]
    assert body["did_you_mean"] == "" and body["corrected_query"] == ""


def test_a_click_from_the_results_links_back_to_the_search(client, tools):
    response = client.get(SEARCH_URL, {"q": "roll"})
    hit, link = response.context["hits"][0]
    client.get(link)
    click = Event.objects.get(event_type=EventType.CLICK)
    search = Event.objects.get(event_type=EventType.SEARCH)
    assert click.context == {"search_event_id": search.pk}
    assert click.position == 1 and click.query == "roll"


def test_search_results_facets_are_read_only(tools):
    result = run("roll")
    with pytest.raises(TypeError):
        result.facets["brand"] = []
    with pytest.raises(AttributeError):
        result.facets["brand"].append(None)


def test_only_page_one_of_a_non_empty_query_is_logged(client, tools):
    client.get(SEARCH_URL, {"q": "roll", "page_size": 1, "page": 2})
    client.get(API_SEARCH_URL, {"q": "roll", "page_size": 1, "page": 2})
    client.get(SEARCH_URL, {"q": "  "})
    assert not Event.objects.filter(event_type=EventType.SEARCH).exists()


def test_the_storefront_and_the_api_log_the_same_search(client, tools):
    client.get(SEARCH_URL, {"q": "roll"})
    client.get(API_SEARCH_URL, {"q": "roll"})
    web, app = Event.objects.filter(event_type=EventType.SEARCH).order_by("pk")
    assert (web.source, app.source) == ("web", "app")
    assert web.query == app.query == "roll"
    assert web.context == app.context
    assert web.context["shown"] and web.context["results"] == 2
