"""Site search: retrieval on both databases, typo tolerance, autocomplete, staff rules,
the personalization opt-out, logging and bad input."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from shop.models import Brand, Category, Event, EventType, SearchRule, ShopperProfile
from shop.personalization import ScoredItem
from shop.search import (
    SearchParams,
    did_you_mean,
    normalize_query,
    search_cache_invalidate,
    search_products,
)
from shop.shoppers import Shopper
from tests.factories import BrandFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

SEARCH_URL = reverse("shop:search")
API_SEARCH_URL = reverse("v1:search")


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


@pytest.fixture
def tools():
    sanding = Category.objects.create(name="Sanding Rolls", slug="sanding-rolls")
    tape = Category.objects.create(name="Tape", slug="tape")
    porter = BrandFactory(name="Porter-Cable", slug="porter-cable")
    scotch = BrandFactory(name="Scotch", slug="scotch")
    return {
        "roll80": ProductFactory(title="80 grit sanding roll", category=sanding, brand=porter),
        "roll120": ProductFactory(title="120 grit sanding roll", category=sanding, brand=porter),
        "tape": ProductFactory(
            title="Masking tape",
            category=tape,
            brand=scotch,
            description="Sticks to sanded wood",
            price=Decimal("3.50"),
        ),
        "gloves": ProductFactory(title="Nitrile gloves", category=tape, brand=scotch, stock=0),
    }


def run(query: str = "", shopper: Shopper | None = None, **params):
    data = {"q": query, **{k: str(v) for k, v in params.items()}}
    return search_products(params=SearchParams.from_mapping(data), shopper=shopper or Shopper())


def titles(result) -> list[str]:
    return [h.product.title for h in result.hits]


# --- retrieval --------------------------------------------------------------------------


def test_every_word_must_match_title_brand_or_category(tools):
    assert set(titles(run("sanding porter"))) == {"80 grit sanding roll", "120 grit sanding roll"}
    assert titles(run("scotch masking")) == ["Masking tape"]


def test_a_word_prefix_matches(tools):
    assert set(titles(run("sand"))) >= {"80 grit sanding roll", "120 grit sanding roll"}


def test_title_matches_rank_above_brand_and_category_matches(tools):
    ProductFactory(title="Bench", category=tools["tape"].category, brand=BrandFactory())
    result = run("tape")
    assert titles(result)[0] == "Masking tape"


def test_results_have_the_same_shape_on_both_databases(tools):
    result = run("roll")
    assert result.total == 2
    assert {type(h.score) for h in result.hits} == {float}
    assert all("text" in h.components for h in result.hits)
    assert {f.name for f in result.facets["brand"]} == {"Porter-Cable"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres full-text only")
def test_search_vector_follows_renamed_brands_and_categories(tools):
    assert run("festool").total == 0
    # A database trigger rewrites the products' vectors; saving (as the admin does) also
    # starts a new generation of cached results, so the change shows at once.
    brand = Brand.objects.get(pk=tools["roll80"].brand_id)
    brand.name = "Festool"
    brand.save()
    category = Category.objects.get(pk=tools["tape"].category_id)
    category.name = "Adhesives"
    category.save()
    assert run("festool").total == 2
    assert run("adhesives").total == 2


def test_bulk_updates_show_after_the_search_cache_is_invalidated(tools):
    assert run("festool").total == 0
    Brand.objects.filter(pk=tools["roll80"].brand_id).update(name="Festool")
    assert run("festool").total == 0  # cached: a bulk update sends no signal
    search_cache_invalidate()
    assert run("festool").total == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres full-text only")
def test_description_words_match_with_the_lowest_weight(tools):
    ProductFactory(title="Wood glue", description="for wood", category=tools["tape"].category)
    result = run("wood")
    assert titles(result) == ["Wood glue", "Masking tape"]


# --- typo tolerance and did-you-mean ----------------------------------------------------


def test_a_misspelt_query_shows_the_results_of_the_corrected_spelling(tools):
    result = run("sandng rol")
    assert result.did_you_mean == "sanding rol" or result.did_you_mean.startswith("sanding")
    assert result.corrected_query == result.did_you_mean
    assert result.total == 2


def test_did_you_mean_keeps_words_that_match(tools):
    assert did_you_mean(terms=["masking", "tpae"]) in ("masking tape", "")
    assert did_you_mean(terms=["masking"]) == ""


def test_nothing_like_the_query_gives_no_suggestion(tools):
    result = run("xyzzyqwv")
    assert result.total == 0
    assert result.did_you_mean == ""
    assert result.corrected_query == ""


def test_the_storefront_shows_the_corrected_query(client, tools):
    response = client.get(SEARCH_URL, {"q": "sandng"})
    assert response.status_code == 200
    assert "Showing results for" in response.content.decode()


# --- autocomplete -----------------------------------------------------------------------


def test_autocomplete_suggests_brands_and_popular_products(client, tools):
    response = client.get(reverse("shop:search-autocomplete"), {"q": "scot"})
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert suggestions[0] == {"kind": "brand", "id": tools["tape"].brand_id, "label": "Scotch"}
    assert {s["label"] for s in suggestions if s["kind"] == "product"} == {
        "Masking tape",
        "Nitrile gloves",
    }


def test_api_autocomplete_completes_a_partly_typed_word(client, tools):
    response = client.get(reverse("v1:search-autocomplete"), {"q": "grit sand", "limit": 5})
    assert response.status_code == 200
    labels = [s["label"] for s in response.json()["suggestions"]]
    assert set(labels) == {"80 grit sanding roll", "120 grit sanding roll"}


@pytest.mark.parametrize("query", ["", "🙂", "'; DROP TABLE shop_product; --", "口红", "a" * 199])
def test_autocomplete_answers_odd_input(client, tools, query):
    assert client.get(reverse("shop:search-autocomplete"), {"q": query}).status_code == 200
    assert client.get(reverse("v1:search-autocomplete"), {"q": query}).status_code == 200


def test_autocomplete_rejects_a_long_prefix_and_a_bad_limit(client):
    assert client.get(reverse("shop:search-autocomplete"), {"q": "a" * 201}).status_code == 400
    assert client.get(reverse("v1:search-autocomplete"), {"q": "a" * 201}).status_code == 400
    assert client.get(reverse("v1:search-autocomplete"), {"limit": "-3"}).status_code == 400


# --- staff rules and in-stock first -----------------------------------------------------


def test_a_banned_product_disappears_from_results_total_and_facets(tools):
    SearchRule.objects.create(query="Scotch", product=tools["tape"], action="ban")
    result = run("scotch")
    assert titles(result) == ["Nitrile gloves"]
    assert result.total == 1
    assert run("tape").total == 2  # other queries are unaffected


def test_a_pinned_product_comes_first_even_out_of_stock(tools):
    SearchRule.objects.create(query="  SCOTCH ", product=tools["gloves"], action="pin")
    assert SearchRule.objects.get().query == "scotch"
    assert titles(run("scotch")) == ["Nitrile gloves", "Masking tape"]


def test_a_pin_shows_a_product_whose_text_does_not_match_the_query(tools):
    SearchRule.objects.create(query="roll", product=tools["gloves"], action="pin")
    result = run("roll")
    assert titles(result)[0] == "Nitrile gloves"
    assert result.total == 3
    # The shopper's filters still apply to it, and other queries are unaffected.
    assert "Nitrile gloves" not in titles(run("roll", brand=tools["roll80"].brand_id))
    assert "Nitrile gloves" not in titles(run("grit"))


def test_a_boost_lifts_a_product_and_shows_in_the_components(tools):
    before = titles(run("roll"))
    last = [p for p in (tools["roll80"], tools["roll120"]) if p.title == before[-1]][0]
    SearchRule.objects.create(query="roll", product=last, action="boost", weight=5.0)
    result = run("roll")
    assert titles(result)[0] == last.title
    assert result.hits[0].components["rules"] == 5.0


def test_products_in_stock_come_before_those_out_of_stock(tools):
    tools["gloves"].title = "Masking gloves"
    tools["gloves"].save()
    from shop.models import Product

    Product.objects.filter(pk=tools["gloves"].pk).update(popularity=10_000)
    assert titles(run("masking")) == ["Masking tape", "Masking gloves"]


def test_normalize_query_lowercases_and_collapses_words():
    assert normalize_query("  Sanding,  ROLLS! ") == "sanding rolls"


# --- opt-out ---------------------------------------------------------------------------


class TasteRecorder:
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
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

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


def test_a_wrong_password_is_checked_once(client, monkeypatch):
    from django.contrib.auth.backends import ModelBackend

    calls = []
    checked = ModelBackend.authenticate

    def counting(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return checked(self, *args, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    user = UserFactory()
    user.set_password("right-one")
    user.save()
    assert not client.login(username=user.username, password="wrong")
    assert calls == ["ShopperBackend"]  # Django's ModelBackend is not asked again
    assert client.login(username=user.username, password="right-one")


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


# --- logging ----------------------------------------------------------------------------


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


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "x" * 10_000},
        {"q": "' OR 1=1; DROP TABLE shop_product; --"},
        {"q": "🙂🙂"},
        {"q": "口红 国产"},
        {"q": "a & b | !c:* <-> d"},
        {"q": "roll", "page": "-1"},
        {"q": "roll", "page": "999999999999"},
        {"q": "roll", "price_min": "-5"},
        {"q": "roll", "price_min": "10", "price_max": "1"},
        {"q": "roll", "price_max": "1e400"},
        {"q": "roll", "category": "999999"},
        {"q": "roll", "brand": "abc"},
        {"q": "roll", "sort": "sideways"},
    ],
)
def test_bad_input_gets_a_page_or_a_clear_400_never_a_500(client, tools, params):
    for url in (SEARCH_URL, API_SEARCH_URL):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (url, params, response.status_code)


# --- explain mode -----------------------------------------------------------------------


def test_staff_explain_mode_lists_each_score_component(admin_client, tools):
    user = UserFactory()
    SearchRule.objects.create(query="roll", product=tools["roll120"], action="pin")
    url = reverse("admin:shop_searchrule_explain")
    response = admin_client.get(url, {"q": "roll", "user": user.username})
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("text", "popularity", "rules"):
        assert f"<th>{name}</th>" in page
    rows = response.context["rows"]
    assert rows[0][1].product == tools["roll120"]
    assert admin_client.get(url, {"q": "roll", "user": "nobody"}).status_code == 200


# --- the lexical result cache ---------------------------------------------------------


def test_a_repeated_search_reads_its_matches_from_the_cache(tools, django_assert_num_queries):
    first = run("roll")
    # The matches, total, facets and the page's products all come from the cache.
    with django_assert_num_queries(0):
        again = run("roll")
    assert titles(again) == titles(first)
    assert again.total == first.total and again.facets == first.facets
    # Every search gets its own product instances (views set attributes on them).
    again.hits[0].product.title = "changed by a view"
    assert titles(run("roll")) == titles(first)


def _count_shared_cache_reads(monkeypatch) -> list[str]:
    from shop import search

    reads = []
    original = search.cache_get

    def counting(key, default=None):
        reads.append(key)
        return original(key, default)

    monkeypatch.setattr(search, "cache_get", counting)
    return reads


def test_a_repeated_search_is_served_by_this_processs_own_copy(tools, monkeypatch):
    from shop import search

    first = run("roll")
    reads = _count_shared_cache_reads(monkeypatch)
    again = run("roll")
    assert titles(again) == titles(first)
    assert not [key for key in reads if key.startswith("shop:search:") and "generation" not in key]
    assert len(search._local_matches) == 1


def test_the_process_copy_is_bounded_by_its_byte_budget(tools, settings, monkeypatch):
    from shop import search

    settings.SEARCH_LOCAL_CACHE_BYTES = 0  # off: every search asks the shared cache
    run("roll")
    reads = _count_shared_cache_reads(monkeypatch)
    run("roll")
    assert any(key.startswith("shop:search:") and "generation" not in key for key in reads)
    assert len(search._local_matches) == 0
    # Room for one entry: the least recently used one leaves.
    run("sanding")
    settings.SEARCH_LOCAL_CACHE_BYTES = 10**9
    run("roll")
    size = max(entry[1] for entry in search._local_matches._entries.values())
    settings.SEARCH_LOCAL_CACHE_BYTES = size + 1
    run("sanding")
    assert len(search._local_matches) == 1
    assert search._local_matches._bytes <= size + 1


def test_the_process_copy_expires(tools, settings, monkeypatch):
    from shop import search

    settings.SEARCH_LOCAL_CACHE_SECONDS = 30
    run("roll")
    now = search.time.monotonic()
    monkeypatch.setattr(search.time, "monotonic", lambda: now + 31)
    monkeypatch.setattr(search, "_generation_seen", [None, 0.0])
    reads = _count_shared_cache_reads(monkeypatch)
    assert run("roll").total == 2
    assert any(key.startswith("shop:search:") and "generation" not in key for key in reads)


def test_a_save_in_another_process_shows_once_this_one_rereads_the_generation(tools, monkeypatch):
    """Another process's save: the shared generation moves on, this process's copy (of
    the old generation) is no longer read once the generation memo is refreshed."""
    from shop import search
    from shop.caching import cache_incr

    assert run("festool").total == 0
    Brand.objects.filter(pk=tools["roll80"].brand_id).update(name="Festool")
    cache_incr(search.SEARCH_GENERATION_KEY)  # as search_cache_invalidate elsewhere does
    assert run("festool").total == 0  # within GENERATION_REFRESH_SECONDS: the old copy
    now = search.time.monotonic()
    monkeypatch.setattr(
        search.time, "monotonic", lambda: now + search.GENERATION_REFRESH_SECONDS + 0.1
    )
    assert run("festool").total == 2


def test_searches_sharing_cached_matches_cannot_change_them(tools):
    import dataclasses

    result = run("roll")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.facets["category"][0].count = 99
    assert run("roll").facets == result.facets


@pytest.mark.parametrize("window", [300, 1])  # the page inside / past the re-rank window
def test_page_products_are_the_ones_the_orm_would_load(
    tools, monkeypatch, window, django_assert_num_queries
):
    from shop.models import Product
    from shop.search import HIT_FIELDS

    monkeypatch.setattr("shop.search.RERANK_WINDOW", window)
    run("roll", page_size=1, page=2)  # fills the cache
    # Past the window: the page in text order, then its products.
    with django_assert_num_queries(0 if window > 1 else 2):
        [hit] = run("roll", page_size=1, page=2).hits
    expected = Product.objects.select_related("category", "brand").only(*HIT_FIELDS)
    expected = expected.get(pk=hit.product.pk)
    assert hit.product.get_deferred_fields() == expected.get_deferred_fields()

    def shown(product):
        values = []
        for name in HIT_FIELDS:
            value = product
            for part in name.split("__"):
                value = getattr(value, part)
            values.append(value)
        return values, product.pk, product.in_stock, product.get_absolute_url()

    with django_assert_num_queries(0):  # nothing left to load lazily
        assert shown(hit.product) == shown(expected)


def test_page_products_behave_as_loaded_instances(tools):
    from shop.models import Product

    run("roll")
    hit = run("roll").hits[0]  # built from the cached card rows
    product = hit.product
    assert product._state.adding is False and product._state.db == "default"
    product.title = "Renamed roll"
    product.save()  # an UPDATE of the loaded fields, not an INSERT
    assert Product.objects.get(pk=product.pk).title == "Renamed roll"
    assert Product.objects.filter(title="Renamed roll").count() == 1


def test_a_post_init_listener_still_hears_the_page_products(tools):
    from django.db.models.signals import post_init

    from shop.models import Product

    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance.pk)

    run("roll")
    post_init.connect(listener, sender=Product)
    try:
        hits = run("roll").hits
    finally:
        post_init.disconnect(listener, sender=Product)
    assert sorted(heard) == sorted(h.product.pk for h in hits)


def test_a_saved_product_shows_its_new_details_in_the_next_search(tools):
    assert {h.product.price for h in run("roll").hits} != {Decimal("1.00")}
    tools["roll80"].price = Decimal("1.00")
    tools["roll80"].title = "80 grit sanding roll, value pack"
    tools["roll80"].save()
    hits = {h.product.pk: h.product for h in run("roll").hits}
    assert hits[tools["roll80"].pk].price == Decimal("1.00")
    assert hits[tools["roll80"].pk].title == "80 grit sanding roll, value pack"


def test_the_cache_key_holds_every_filter(tools):
    assert run("roll").total == 2
    assert run("roll", in_stock=1).total == 2
    assert run("roll", brand=tools["tape"].brand_id).total == 0
    assert run("grit", price_max="1").total == 0


def test_saving_a_product_shows_in_the_next_search(tools):
    assert run("roll").total == 2
    tools["roll80"].is_active = False
    tools["roll80"].save()
    assert titles(run("roll")) == ["120 grit sanding roll"]


def test_a_new_staff_rule_applies_to_the_next_search(tools):
    assert run("roll").total == 2
    SearchRule.objects.create(query="roll", product=tools["roll120"], action="ban")
    assert titles(run("roll")) == ["80 grit sanding roll"]


def test_importing_products_shows_in_the_next_search(tools, tmp_path):
    from shop.importers import import_product_rows, read_rows

    assert run("sandpaper").total == 0
    path = tmp_path / "products.csv"
    path.write_text("sku,title\nSP-1,Sandpaper sheets\n", encoding="utf-8")
    import_product_rows(read_rows(path), file_name=path.name, on_error=print)
    assert run("sandpaper").total == 1


def test_search_works_when_the_cache_raises(tools, client):
    unreachable = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
            "IGNORE_EXCEPTIONS": False,
        },
    }
    with override_settings(CACHES={"default": unreachable}):
        assert run("roll").total == 2
        response = client.get(API_SEARCH_URL, {"q": "roll"})
    assert response.status_code == 200
    assert response.json()["total"] == 2


def test_nothing_is_kept_in_the_process_while_the_shared_cache_is_down(tools, monkeypatch):
    """Without the shared generation, saves in other processes could not be seen."""
    from shop import search

    search._local_matches.clear()
    monkeypatch.setattr(search, "_generation_seen", [None, 0.0])
    unreachable = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
    with override_settings(CACHES={"default": unreachable}):
        assert run("roll").total == 2
        assert run("roll").total == 2
    assert len(search._local_matches) == 0


def test_search_results_facets_are_read_only(tools):
    result = run("roll")
    with pytest.raises(TypeError):
        result.facets["brand"] = []
    with pytest.raises(AttributeError):
        result.facets["brand"].append(None)
