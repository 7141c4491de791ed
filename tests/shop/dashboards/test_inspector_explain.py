"""The explain view of a search (admin: search rules > explain; shared with the shopper
inspector): labelled columns with a legend, the order said as it is, the shopper's
opt-out honoured whether their profile or their browser session keeps it."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from shop.models import Product, SearchRule, ShopperProfile
from shop.personalization import DefaultPersonalizer, Personalizer, RankedSearch, ScoredItem
from shop.search.explain import search_explain
from shop.shoppers import Shopper, shopper_for
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
EXPLAIN_URL = "admin:shop_searchrule_explain"
PLUGIN = f"{__name__}.ReversingPersonalizer"


class ReversingPersonalizer(Personalizer):
    """A plug-in that knows its shoppers: it reverses the text order for anyone it may
    personalize, reports a "taste" component with its raw value, and describes them."""

    name = "reversing"
    component_labels = {"taste": ("Taste", "How much this shopper likes the product.")}

    def __init__(self):
        self.default = DefaultPersonalizer()

    def rank_search_columns(self, *, shopper, query, candidates):
        if not shopper.personalize or (shopper.user_id is None and not shopper.session_id):
            return self.default.rank_search_columns(
                shopper=shopper, query=query, candidates=candidates
            )
        items = [
            ScoredItem(
                pid, float(n), "Matches your taste", {"text": t, "taste": n, "x_taste": 42.0}
            )
            for n, (pid, t) in enumerate(zip(candidates.product_ids, candidates.text, strict=True))
        ]
        return RankedSearch.from_items(items[::-1])

    def recommend(self, *, shopper, limit, exclude=()):
        if not shopper.personalize:
            return self.default.recommend(shopper=shopper, limit=limit, exclude=exclude)
        pks = Product.objects.order_by("-pk").values_list("pk", "title")[:limit]
        return [ScoredItem(pk, 0.5, f"Because you viewed “{title}”") for pk, title in pks]

    def similar(self, *, product_id, shopper, limit):
        return []

    def describe(self, *, shopper):
        return {"Segment": "warm (5 interactions)", "Served model": "v7 (test)"}


@pytest.fixture
def lanterns():
    """Three lanterns, the best text match first."""
    return [
        ProductFactory(title="Camping lantern"),
        ProductFactory(title="Camping lantern with a hook"),
        ProductFactory(title="Camping lantern with a hook and a red filter"),
    ]


@pytest.fixture
def plugin(settings):
    settings.SHOP_PERSONALIZER = PLUGIN


def explain(client, **params):
    response = client.get(reverse(EXPLAIN_URL), params)
    assert response.status_code == 200
    return response, response.content.decode()


def test_columns_have_labels_and_a_legend_not_internal_names(admin_client, plugin, lanterns):
    user = UserFactory()

    response, page = explain(admin_client, q="lantern", user=user.username)

    explained = response.context["explained"]
    # The plug-in's own components first, then the shop's it does not relabel, rules last.
    assert [c.name for c in explained.columns] == ["taste", "text", "rules"]
    assert [c.label for c in explained.columns] == ["Taste", "Text match", "Rules"]
    assert '<abbr title="How much this shopper likes the product.">Taste</abbr>' in page
    assert "<th>x_" not in page and ">x_taste<" not in page
    assert 'class="dash-legend explain-legend"' in page
    assert "<dt>Taste <small>(taste)</small></dt>" in page
    # The raw feature sits under its component, not in a column of its own.
    assert explained.rows[0].values[0] == (2, 42.0)
    assert '<small class="explain-raw" title="raw value of the feature">42.000</small>' in page


def test_the_table_scrolls_inside_the_page_rather_than_widening_it(admin_client, lanterns):
    _response, page = explain(admin_client, q="lantern")

    assert '<div class="dash-scroll">\n<table id="explain"' in page
    assert "dashboards/dashboards.css" in page  # where .dash-scroll is styled


def test_without_a_shopper_it_says_the_order_is_not_personalized(admin_client, plugin, lanterns):
    response, page = explain(admin_client, q="lantern")

    explained = response.context["explained"]
    assert explained.shopper is None
    assert "No shopper given: the non-personalized order" in page
    assert "Personalized order" not in page
    assert [r.hit.product for r in explained.rows] == lanterns
    assert explained.moved == 0


def test_a_personalized_order_counts_what_moved(admin_client, plugin, lanterns):
    response, page = explain(admin_client, q="lantern", user=UserFactory().username)

    explained = response.context["explained"]
    assert [r.hit.product for r in explained.rows] == lanterns[::-1]
    assert [r.unpersonalized_position for r in explained.rows] == [3, 2, 1]
    assert explained.moved == 2
    assert "Personalized order for this shopper (personalizer “reversing”): 2 of the 3" in page


def test_a_users_profile_opt_out_gives_the_non_personalized_order(admin_client, plugin, lanterns):
    user = UserFactory()
    ShopperProfile.objects.create(user=user, personalization_opt_out=True)

    response, page = explain(admin_client, q="lantern", user=user.username)

    assert [r.hit.product for r in response.context["explained"].rows] == lanterns
    assert "This shopper opted out of personalization" in page
    assert "personalization is <strong>off (opted out)</strong>" in page


def opted_out_session(client, opt_out: bool = True) -> str:
    """An anonymous browser session that chose through the storefront; its key."""
    client.post(reverse("shop:personalization"), {"opt_out": "1" if opt_out else "0"})
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def test_an_anonymous_sessions_stored_opt_out_is_honoured(client, admin_client, plugin, lanterns):
    session_id = opted_out_session(client)

    response, page = explain(admin_client, q="lantern", session=session_id)

    explained = response.context["explained"]
    assert explained.shopper == Shopper(session_id=session_id, personalize=False)
    assert [r.hit.product for r in explained.rows] == lanterns
    assert "This shopper opted out of personalization" in page


def test_a_session_that_opted_back_in_is_personalized(client, admin_client, plugin, lanterns):
    session_id = opted_out_session(client, opt_out=False)

    response, _page = explain(admin_client, q="lantern", session=session_id)

    assert response.context["explained"].shopper.personalize
    assert [r.hit.product for r in response.context["explained"].rows] == lanterns[::-1]


@pytest.mark.parametrize("session_id", ["", "device:abcdefgh1", "no-such-session-key-1234"])
def test_sessions_without_a_stored_choice_are_personalized(session_id):
    assert shopper_for(user_id=None, session_id=session_id).personalize


def test_a_user_signed_in_in_an_opted_out_session_is_not_personalized(client, admin_client):
    session_id = opted_out_session(client)
    user = UserFactory()

    assert shopper_for(user_id=user.pk, session_id="").personalize
    assert not shopper_for(user_id=user.pk, session_id=session_id).personalize


def test_pins_still_come_first_and_the_rules_column_shows_them(admin_client, settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    pinned = ProductFactory(title="120 grit sanding roll")
    ProductFactory(title="80 grit sanding roll")
    SearchRule.objects.create(query="roll", product=pinned, action="pin")

    response, page = explain(admin_client, q="roll", user=UserFactory().username)

    explained = response.context["explained"]
    assert explained.rows[0].hit.product == pinned
    assert [c.name for c in explained.columns] == ["text", "popularity", "rules"]
    for label in ("Text match", "Popularity", "Rules"):
        assert f">{label}</abbr></th>" in page


def test_an_unknown_user_or_a_bad_query_is_reported(admin_client):
    _response, page = explain(admin_client, q="roll", user="nobody")
    assert "No user named &#x27;nobody&#x27;." in page

    explained = search_explain(query="x" * 600, shopper=None)
    assert explained.error and not explained.rows


def test_the_explain_view_links_to_the_inspector(admin_client, lanterns):
    user = UserFactory()

    _response, page = explain(admin_client, q="lantern", user=user.username)

    assert f'href="{reverse("dashboards:inspector")}?user={user.pk}">Inspect this shopper' in page


def test_explain_needs_the_view_permission_on_search_rules(client):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(reverse(EXPLAIN_URL), {"q": "x"}).status_code == 403
