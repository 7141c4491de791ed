"""Honest "for you" labels and the personalization switch on the storefront's pages.

"ordered for you" (search) and "Recommended for you" (home) show only when the order or
the list was personalized for this shopper, with why; never for a visitor the shop knows
nothing about, after an opt-out, or when the personalizer failed and the default
answered. The switch is a POST form with a CSRF token on every page, and
``/privacy/personalization/`` explains it.

``RecentViewsPersonalizer`` is a real plug-in of the shop's interface (the recommender
needs a trained model; its own tests cover its answers): it favours the categories of
the shopper's latest views and answers like the default for anyone else.
"""

import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from shop.models import Product, ShopperProfile
from shop.personalization import (
    DefaultPersonalizer,
    Personalizer,
    RankedSearch,
    ScoredItem,
)
from shop.selectors import shopper_recently_viewed_product_ids
from shop.shoppers import OPT_OUT_SESSION_KEY
from tests.factories import BrandFactory, UserFactory, category_tree, products_from_rows

pytestmark = pytest.mark.django_db

THIS_MODULE = __name__
CONFIGURED_PERSONALIZER = django_settings.SHOP_PERSONALIZER
SEARCH_URL = reverse("shop:search")
HOME_URL = reverse("shop:home")
PRIVACY_URL = reverse("shop:personalization")
ORDERED_FOR_YOU = "ordered for you"
RECOMMENDED_FOR_YOU = "Recommended for you"


class RecentViewsPersonalizer(Personalizer):
    """Favours the categories of the shopper's latest views; the default's answers for
    a shopper who opted out or has viewed nothing."""

    name = "recent-views"
    component_labels = {
        **DefaultPersonalizer.component_labels,
        "history": ("History", "1 when the product's category is one the shopper viewed."),
    }

    def __init__(self):
        self.default = DefaultPersonalizer()

    def _viewed(self, shopper):
        if not shopper.personalize:
            return []
        ids = shopper_recently_viewed_product_ids(shopper=shopper, limit=3)
        return list(Product.objects.filter(pk__in=ids))

    def rank_search_columns(self, *, shopper, query, candidates):
        viewed = self._viewed(shopper)
        if not viewed:
            return self.default.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        categories = {p.category_id for p in viewed}
        category_of = dict(
            Product.objects.filter(pk__in=candidates.product_ids).values_list("pk", "category_id")
        )
        items = [
            ScoredItem(
                pid,
                text + (1.0 if category_of.get(pid) in categories else 0.0),
                "Matches your search and what you viewed",
                {"text": text, "history": 1.0 if category_of.get(pid) in categories else 0.0},
            )
            for pid, text in zip(candidates.product_ids, candidates.text, strict=True)
        ]
        items.sort(key=lambda item: (-item.score, item.product_id))
        return RankedSearch.from_items(items)

    def recommend(self, *, shopper, limit, exclude=()):
        viewed = self._viewed(shopper)
        if not viewed:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        seen = {p.pk for p in viewed} | set(exclude)
        items = []
        for product in viewed:
            for similar in self.default.similar(product_id=product.pk, shopper=shopper, limit=4):
                if similar.product_id not in seen:
                    seen.add(similar.product_id)
                    items.append(
                        ScoredItem(similar.product_id, 1.0, f"Because you viewed “{product.title}”")
                    )
        return items[:limit]

    def similar(self, *, product_id, shopper, limit):
        return self.default.similar(product_id=product_id, shopper=shopper, limit=limit)


class FailingPersonalizer(RecentViewsPersonalizer):
    """Fails every answer: the shop answers with its default instead."""

    name = "failing"

    def rank_search_columns(self, *, shopper, query, candidates):
        raise RuntimeError("no search today")

    def recommend(self, *, shopper, limit, exclude=()):
        raise RuntimeError("no recommendations today")


@pytest.fixture(autouse=True)
def _recent_views_personalizer(settings):
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.RecentViewsPersonalizer"


@pytest.fixture
def catalogue():
    """Lipsticks and a nail polish by Glowco, and an Acme shampoo; popularity favours
    the lipsticks, so a search for "glowco" shows the polish last unless the shopper's
    views say otherwise. The lipsticks and the shampoo are popular right now."""
    categories = category_tree("Beauty > Lipstick", "Beauty > Nails", "Hair")
    glow, acme = (BrandFactory(name=name, slug=name.lower()) for name in ("Glowco", "Acme"))
    return products_from_rows(
        "title category brand price stock popularity trending",
        {
            "red": ("Red velvet lipstick", categories["lipstick"], glow, Decimal(10), 5, 30, 3),
            "pink": ("Pink lipstick", categories["lipstick"], glow, Decimal(12), 5, 20, 2),
            "polish": ("Nail polish", categories["nails"], glow, Decimal(5), 3, 1, 0),
            "topcoat": ("Top coat", categories["nails"], acme, Decimal(6), 3, 2, 0),
            "shampoo": ("Shampoo", categories["hair"], acme, Decimal(8), 1, 10, 1),
        },
    )


def titles(response) -> list[str]:
    return [hit.product.title for hit, _link in response.context["hits"]]


def text(response) -> str:
    return response.content.decode()


def switch_off(client, next_url="/") -> None:
    """Turn personalization off with the header's form, its CSRF token included."""
    page = client.get(next_url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(page)).group(1)
    answer = client.post(
        PRIVACY_URL, {"opt_out": "1", "next": next_url, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302 and answer["Location"] == next_url


# --- Search: "ordered for you" ----------------------------------------------------------


def test_a_first_time_visitor_sees_no_ordered_for_you(client, catalogue, settings):
    response = client.get(SEARCH_URL, {"q": "glowco"})

    assert response.context["result"].personalized  # re-ranked, in the default's order
    assert not response.context["for_you"].personalized
    assert ORDERED_FOR_YOU not in text(response)
    # The shop's default order (text and popularity, weighed differently by Postgres
    # and SQLite) is what a first-time visitor gets.
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    assert titles(response) == titles(Client().get(SEARCH_URL, {"q": "glowco"}))


def test_a_visitor_with_history_sees_ordered_for_you_and_the_views_that_drove_it(client, catalogue):
    client.get(catalogue["polish"].get_absolute_url())

    response = client.get(SEARCH_URL, {"q": "glowco"})

    assert titles(response)[0] == "Nail polish"
    body = text(response)
    assert f'<strong class="for-you">{ORDERED_FOR_YOU}</strong>' in body
    assert "<summary" in body and "Why?</summary>" in body
    assert "Ordered using your recent views: “Nail polish”." in body


def test_a_sort_other_than_best_match_is_not_ordered_for_you(client, catalogue):
    client.get(catalogue["polish"].get_absolute_url())

    response = client.get(SEARCH_URL, {"q": "glowco", "sort": "price_asc"})

    assert ORDERED_FOR_YOU not in text(response)


def test_after_opting_out_search_has_no_label_and_the_order_everyone_gets(client, catalogue):
    everyones = titles(Client().get(SEARCH_URL, {"q": "glowco"}))
    client.get(catalogue["polish"].get_absolute_url())
    assert ORDERED_FOR_YOU in text(client.get(SEARCH_URL, {"q": "glowco"}))

    switch_off(client, next_url=f"{SEARCH_URL}?q=glowco")

    response = client.get(SEARCH_URL, {"q": "glowco"})
    assert ORDERED_FOR_YOU not in text(response)
    assert titles(response) == everyones


def test_a_failing_personalizer_answered_by_the_default_is_not_ordered_for_you(
    client, settings, catalogue
):
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.FailingPersonalizer"
    client.get(catalogue["polish"].get_absolute_url())

    search = client.get(SEARCH_URL, {"q": "glowco"})
    home = client.get(HOME_URL)

    assert ORDERED_FOR_YOU not in text(search)
    assert RECOMMENDED_FOR_YOU not in text(home)
    assert "Popular right now" in text(home)


def test_the_configured_personalizer_without_a_model_labels_nothing(client, settings, catalogue):
    """The project's personalizer (the recommender, with no trained model here) answers
    a shopper with history like anyone: no label."""
    settings.SHOP_PERSONALIZER = CONFIGURED_PERSONALIZER
    client.get(catalogue["polish"].get_absolute_url())

    assert ORDERED_FOR_YOU not in text(client.get(SEARCH_URL, {"q": "glowco"}))
    home = client.get(HOME_URL)
    assert RECOMMENDED_FOR_YOU not in text(home) and "Popular right now" in text(home)


# --- Home: "Recommended for you" --------------------------------------------------------


def test_home_recommends_for_you_with_the_reason_after_a_view(client, catalogue):
    client.get(catalogue["red"].get_absolute_url())

    response = client.get(HOME_URL)

    assert response.context["for_you"].personalized
    body = text(response)
    assert f"<h2>{RECOMMENDED_FOR_YOU}</h2>" in body
    assert "Because you viewed “Red velvet lipstick”" in body
    assert [p.title for p, _item in response.context["recommended"]] == ["Pink lipstick"]
    assert "<h2>Popular right now</h2>" in body  # the trending list follows


def test_a_visitor_with_a_session_but_no_views_gets_popular_right_now(client, catalogue):
    client.get(SEARCH_URL, {"q": "glowco"})  # starts a session; views nothing

    response = client.get(HOME_URL)

    assert response.context["recommended"]
    body = text(response)
    assert RECOMMENDED_FOR_YOU not in body
    assert body.count("<h2>Popular right now</h2>") == 1  # not twice over


def test_after_opting_out_home_shows_popular_right_now(client, catalogue):
    client.get(catalogue["red"].get_absolute_url())
    assert RECOMMENDED_FOR_YOU in text(client.get(HOME_URL))

    switch_off(client)

    body = text(client.get(HOME_URL))
    assert RECOMMENDED_FOR_YOU not in body
    assert "Popular right now" in body
    assert "Because you viewed" not in body


def test_a_signed_in_shoppers_opt_out_from_another_device_removes_the_labels(client, catalogue):
    shopper = UserFactory()
    client.force_login(shopper)
    client.get(catalogue["red"].get_absolute_url())
    ShopperProfile.objects.create(user=shopper, personalization_opt_out=True)

    home = text(client.get(HOME_URL))
    search = text(client.get(SEARCH_URL, {"q": "glowco"}))

    assert RECOMMENDED_FOR_YOU not in home and ORDERED_FOR_YOU not in search
    assert 'role="switch" aria-checked="false"' in home


# --- The switch: CSRF, state, the privacy page ------------------------------------------


@pytest.mark.parametrize("url", [HOME_URL, SEARCH_URL, PRIVACY_URL])
def test_every_storefront_page_has_the_switch_with_a_csrf_token_and_cookie(url, catalogue):
    client = Client(enforce_csrf_checks=True)

    response = client.get(url)

    body = text(response)
    assert f'<form method="post" action="{PRIVACY_URL}" class="switch-form">' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'role="switch" aria-checked="true"' in body
    assert django_settings.CSRF_COOKIE_NAME in response.cookies


def test_a_switch_post_without_the_csrf_token_is_refused(catalogue):
    client = Client(enforce_csrf_checks=True)
    client.get(HOME_URL)

    assert client.post(PRIVACY_URL, {"opt_out": "1"}).status_code == 403
    assert OPT_OUT_SESSION_KEY not in client.session


def test_an_anonymous_visitor_switches_off_and_back_on_with_the_form(catalogue):
    client = Client(enforce_csrf_checks=True)

    switch_off(client)

    assert client.session[OPT_OUT_SESSION_KEY] is True
    page = text(client.get(HOME_URL))
    assert 'role="switch" aria-checked="false"' in page
    assert 'name="opt_out" value="0"' in page  # the switch now turns it back on
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    client.post(PRIVACY_URL, {"opt_out": "0", "csrfmiddlewaretoken": token})
    assert client.session[OPT_OUT_SESSION_KEY] is False
    assert 'role="switch" aria-checked="true"' in text(client.get(HOME_URL))


def test_a_signed_in_shopper_switches_off_for_every_device(catalogue):
    shopper = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(shopper)

    switch_off(client)

    assert ShopperProfile.objects.get(user=shopper).personalization_opt_out
    other_device = Client()
    other_device.force_login(shopper)
    assert 'role="switch" aria-checked="false"' in text(other_device.get(HOME_URL))


def test_the_privacy_page_explains_personalization_and_shows_its_state(client, catalogue):
    client.get(catalogue["red"].get_absolute_url())

    on = client.get(PRIVACY_URL)
    assert on.status_code == 200
    body = text(on)
    assert 'Personalization is <strong data-testid="personalization-state">on</strong>' in body
    assert "Red velvet lipstick" in body  # what it reads: the latest views
    assert "kept for this browser session" in body

    switch_off(client, next_url=PRIVACY_URL)

    assert '<strong data-testid="personalization-state">off</strong>' in text(
        client.get(PRIVACY_URL)
    )


def test_the_privacy_page_is_a_signed_in_shoppers_account_page_for_now(client, catalogue):
    client.force_login(UserFactory(username="ann"))

    body = text(client.get(PRIVACY_URL))

    assert "Signed in as ann" in body
    assert "this is it for now" in body
    assert reverse("v1:me-export") in body
    assert "Account &amp; privacy" in body  # the header's link


def test_base_links_the_favicon(client, catalogue):
    assert 'rel="icon" href="/static/shop/favicon.svg"' in text(client.get(HOME_URL))
