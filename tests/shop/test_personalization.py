"""The personalization plug point: the default answers, and how any configured class is
loaded, used, and - when it fails - replaced by the default without breaking a page."""

import ast
import logging
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import EventType, Product
from shop.personalization import (
    DefaultPersonalizer,
    RankedSearch,
    RankSearchFromList,
    SafePersonalizer,
    ScoredItem,
    SearchCandidates,
    get_personalizer,
)
from shop.popularity import popularity_refresh
from shop.shoppers import Shopper
from tests.factories import CategoryFactory, EventFactory, ProductFactory, UserFactory
from tests.ranking import rank_items, search_candidates

pytestmark = pytest.mark.django_db
DEFAULT_PATH = "shop.personalization.DefaultPersonalizer"


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    """Start every test from the shop's own personalizer, whatever plugin is installed."""
    settings.SHOP_PERSONALIZER = DEFAULT_PATH


REPO_ROOT = Path(__file__).resolve().parents[2]
THIS_MODULE = __name__


class ExplodingPersonalizer(RankSearchFromList):
    """A personalizer whose every answer is an exception."""

    name = "exploding"

    def rank_search(self, *, shopper, query, candidates):
        raise RuntimeError("rank_search exploded")

    def recommend(self, *, shopper, limit, exclude=()):
        raise RuntimeError("recommend exploded")

    def similar(self, *, product_id, shopper, limit):
        raise RuntimeError("similar exploded")


class ExplodingOnInitPersonalizer(DefaultPersonalizer):
    def __init__(self):
        raise RuntimeError("cannot start")


class LeastPopularFirstPersonalizer(RankSearchFromList):
    """A working custom personalizer with answers the default would never give.

    The example of a plug-in that ranks search candidates as a list (the module
    docstring of shop.personalization): test_a_custom_personalizer_reorders_search_results
    runs it through the shop's search."""

    name = "least-popular-first"

    def rank_search(self, *, shopper, query, candidates):
        popularity = dict(
            Product.objects.filter(pk__in=[c.product_id for c in candidates]).values_list(
                "pk", "popularity"
            )
        )
        return sorted(
            (
                ScoredItem(product_id=c.product_id, score=c.score, reason="Custom order")
                for c in candidates
            ),
            key=lambda item: (popularity[item.product_id], item.product_id),
        )

    def recommend(self, *, shopper, limit, exclude=()):
        pks = Product.objects.filter(is_active=True).order_by("popularity", "pk")
        return [
            ScoredItem(product_id=pk, score=1.0, reason="Hand-picked by the custom personalizer")
            for pk in pks.values_list("pk", flat=True)[:limit]
            if pk not in exclude
        ]

    def similar(self, *, product_id, shopper, limit):
        pks = Product.objects.exclude(pk=product_id).order_by("popularity", "pk")
        return [
            ScoredItem(product_id=pk, score=1.0, reason="Custom similar")
            for pk in pks.values_list("pk", flat=True)[:limit]
        ]


class RoguePersonalizer(RankSearchFromList):
    """Answers with products the pages must not show: inactive ones, ones outside the
    search candidates, and duplicates."""

    name = "rogue"

    def _everything(self):
        return [
            ScoredItem(product_id=pk, score=1.0)
            for pk in Product.objects.order_by("pk").values_list("pk", flat=True)
        ]

    def rank_search(self, *, shopper, query, candidates):
        return self._everything() + list(candidates)

    def recommend(self, *, shopper, limit, exclude=()):
        return self._everything()[:limit]

    def similar(self, *, product_id, shopper, limit):
        return self._everything()[:limit]


def set_popularity(product, value):
    Product.objects.filter(pk=product.pk).update(popularity=value)
    product.refresh_from_db()
    return product


@pytest.fixture
def shopper():
    return Shopper(user_id=UserFactory().pk)


@pytest.fixture
def refreshed(settings):
    """The popularity refresh the Celery task runs, with one shopper enough to trend (the
    minimum's own tests are in test_popularity)."""
    settings.SHOP_TRENDING_MIN_SHOPPERS = 1
    return popularity_refresh


@pytest.fixture
def ranked_products():
    """Five "lip" products: the most popular first by pk order would be wrong."""
    category = CategoryFactory(name="Lips")
    products = [ProductFactory(title=f"Lip balm {n}", category=category) for n in range(5)]
    for product, popularity in zip(products, [1, 50, 20, 40, 30], strict=True):
        set_popularity(product, popularity)
    return products


# --- DefaultPersonalizer.recommend -----------------------------------------------------


def test_recommend_returns_trending_products_most_interacted_first(shopper, refreshed):
    quiet, busy, busiest = ProductFactory(), ProductFactory(), ProductFactory()
    EventFactory(product=quiet, event_type=EventType.VIEW)
    for _ in range(2):
        EventFactory(product=busy, event_type=EventType.VIEW)
    EventFactory(product=busiest, event_type=EventType.ADD_TO_CART)  # weight 3
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=3)

    assert [i.product_id for i in items] == [busiest.pk, busy.pk, quiet.pk]
    assert all(i.reason == "Popular right now" for i in items)


def test_recommend_excludes_what_the_shopper_purchased(shopper, refreshed):
    bought, other = ProductFactory(), ProductFactory()
    for _ in range(5):
        EventFactory(product=bought, event_type=EventType.VIEW)
    EventFactory(product=other, event_type=EventType.VIEW)
    EventFactory(user_id=shopper.user_id, product=bought, event_type=EventType.PURCHASE)
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=5)

    assert [i.product_id for i in items] == [other.pk]


def test_recommend_keeps_what_other_shoppers_purchased(shopper, refreshed):
    bought = ProductFactory()
    EventFactory(product=bought, event_type=EventType.PURCHASE)  # by someone else
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=5)

    assert [i.product_id for i in items] == [bought.pk]


def test_recommend_excludes_anonymous_session_purchases_for_that_session(refreshed):
    bought, other = ProductFactory(), ProductFactory()
    EventFactory(user=None, session_id="s-1", product=bought, event_type=EventType.PURCHASE)
    EventFactory(product=other, event_type=EventType.VIEW)
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=Shopper(session_id="s-1"), limit=5)

    assert [i.product_id for i in items] == [other.pk]


def test_recommend_honours_exclude_and_limit(shopper, refreshed):
    products = [ProductFactory() for _ in range(4)]
    for n, product in enumerate(products):
        for _ in range(4 - n):
            EventFactory(product=product, event_type=EventType.VIEW)
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=2, exclude=[products[0].pk])

    assert [i.product_id for i in items] == [products[1].pk, products[2].pk]


def test_recommend_never_offers_inactive_products(shopper, refreshed):
    inactive = ProductFactory(is_active=False)
    EventFactory(product=inactive, event_type=EventType.PURCHASE)
    active = ProductFactory()
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=5)

    assert [(i.product_id, i.reason) for i in items] == [(active.pk, "New in the shop")]


def test_recommend_without_trending_products_offers_the_newest_as_new(shopper, refreshed):
    now = timezone.now()
    older = ProductFactory(created_at=now - timedelta(days=2))
    newer = ProductFactory(created_at=now - timedelta(days=1))
    set_popularity(older, 9)  # popular once, but nobody lately
    refreshed()

    items = DefaultPersonalizer().recommend(shopper=shopper, limit=5)

    assert [(i.product_id, i.reason) for i in items] == [
        (newer.pk, "New in the shop"),
        (older.pk, "New in the shop"),
    ]


# --- DefaultPersonalizer.similar -------------------------------------------------------


def test_similar_lists_products_viewed_by_the_same_shoppers_first_then_same_category(shopper):
    category = CategoryFactory()
    anchor = ProductFactory(category=category)
    often_together = ProductFactory()  # other category
    once_together = ProductFactory()
    same_category_popular = set_popularity(ProductFactory(category=category), 100)
    same_category_quiet = set_popularity(ProductFactory(category=category), 1)
    ProductFactory()  # unrelated: never listed
    alice, bob = UserFactory(), UserFactory()
    for user in (alice, bob):
        EventFactory(user=user, product=anchor)
        EventFactory(user=user, product=often_together)
    EventFactory(user=alice, product=once_together)

    items = DefaultPersonalizer().similar(product_id=anchor.pk, shopper=shopper, limit=10)

    assert [i.product_id for i in items] == [
        often_together.pk,
        once_together.pk,
        same_category_popular.pk,
        same_category_quiet.pk,
    ]
    assert items[0].reason == "Shoppers who viewed this also viewed"
    assert items[2].reason == f"More in {category.name}"
    assert items[0].score > items[1].score > items[2].score > items[3].score


def test_similar_never_lists_the_product_itself_or_inactive_products(shopper):
    category = CategoryFactory()
    anchor = ProductFactory(category=category)
    inactive = ProductFactory(category=category, is_active=False)
    user = UserFactory()
    EventFactory(user=user, product=anchor)
    EventFactory(user=user, product=inactive)

    items = DefaultPersonalizer().similar(product_id=anchor.pk, shopper=shopper, limit=10)

    assert items == []


def test_similar_lists_a_co_viewed_product_once_even_in_the_same_category(shopper):
    category = CategoryFactory()
    anchor, sibling = ProductFactory(category=category), ProductFactory(category=category)
    user = UserFactory()
    EventFactory(user=user, product=anchor)
    EventFactory(user=user, product=sibling)

    items = DefaultPersonalizer().similar(product_id=anchor.pk, shopper=shopper, limit=10)

    assert [i.product_id for i in items] == [sibling.pk]


def test_similar_honours_the_limit(shopper):
    category = CategoryFactory()
    anchor = ProductFactory(category=category)
    for _ in range(5):
        ProductFactory(category=category)

    items = DefaultPersonalizer().similar(product_id=anchor.pk, shopper=shopper, limit=3)

    assert len(items) == 3


# --- DefaultPersonalizer.rank_search_columns ---------------------------------------------------


def test_rank_search_keeps_text_order_and_breaks_ties_by_popularity(shopper, ranked_products):
    p = ranked_products  # popularity: 1, 50, 20, 40, 30
    candidates = [
        ScoredItem(product_id=p[0].pk, score=1.0, components={"text": 1.0}),
        ScoredItem(product_id=p[2].pk, score=0.5, components={"text": 0.5}),
        ScoredItem(product_id=p[1].pk, score=0.5, components={"text": 0.5}),
        ScoredItem(product_id=p[3].pk, score=0.5, components={"text": 0.5}),
        ScoredItem(product_id=p[4].pk, score=0.25, components={"text": 0.25}),
    ]

    ranked = rank_items(DefaultPersonalizer(), shopper=shopper, query="lip", candidates=candidates)

    # The least popular product keeps first place on text; the 0.5-tie goes by popularity.
    assert [i.product_id for i in ranked] == [p[0].pk, p[1].pk, p[3].pk, p[2].pk, p[4].pk]
    assert [i.components["text"] for i in ranked] == [1.0, 0.5, 0.5, 0.5, 0.25]


def test_rank_search_keeps_every_candidate_once(shopper, ranked_products):
    candidates = [ScoredItem(product_id=p.pk, score=1.0) for p in ranked_products]

    ranked = rank_items(DefaultPersonalizer(), shopper=shopper, query="", candidates=candidates)

    assert sorted(i.product_id for i in ranked) == sorted(p.pk for p in ranked_products)


def test_rank_search_of_no_candidates_is_empty(shopper):
    assert rank_items(DefaultPersonalizer(), shopper=shopper, query="x", candidates=[]) == []


def test_search_page_orders_equal_matches_by_popularity(client, ranked_products):
    response = client.get(reverse("shop:search"), {"q": "lip balm"})

    titles = [hit.product.title for hit, _link in response.context["hits"]]
    assert titles == ["Lip balm 1", "Lip balm 3", "Lip balm 4", "Lip balm 2", "Lip balm 0"]


# --- The plug point --------------------------------------------------------------------


def test_naming_the_default_personalizer_answers_with_it_directly():
    personalizer = get_personalizer()

    assert isinstance(personalizer, SafePersonalizer)
    assert personalizer.primary is None
    assert isinstance(personalizer.fallback, DefaultPersonalizer)
    assert personalizer.name == "default"


@pytest.mark.parametrize("path", ["", None])
def test_an_empty_setting_answers_with_the_default_personalizer(settings, path):
    settings.SHOP_PERSONALIZER = path

    assert get_personalizer().primary is None


def test_changing_the_setting_loads_the_named_class(settings):
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.LeastPopularFirstPersonalizer"

    personalizer = get_personalizer()

    assert isinstance(personalizer.primary, LeastPopularFirstPersonalizer)
    assert personalizer.name == "least-popular-first"


def _visit_every_page(client, product):
    """Home (recommend), search (rank_search_columns) and product page (similar): all 200."""
    home = client.get(reverse("shop:home"))
    found = client.get(reverse("shop:search"), {"q": "lip"})
    detail = client.get(product.get_absolute_url())
    assert (home.status_code, found.status_code, detail.status_code) == (200, 200, 200)
    return home, found, detail


def _default_answers(client, ranked_products):
    """The pages' answers under the default personalizer, for comparison."""
    home, found, detail = _visit_every_page(client, ranked_products[0])
    return (
        [p.pk for p, _item in home.context["recommended"]],
        [hit.product.pk for hit, _link in found.context["hits"]],
        [p.pk for p, _item in detail.context["similar"]],
    )


def test_a_personalizer_that_raises_everywhere_falls_back_to_the_default_and_logs(
    client, settings, caplog, ranked_products
):
    client.force_login(UserFactory())
    expected = _default_answers(client, ranked_products)
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.ExplodingPersonalizer"

    with caplog.at_level(logging.ERROR, logger="shop.personalization"):
        home, found, detail = _visit_every_page(client, ranked_products[0])

    assert home.context["recommended"]
    assert (
        [p.pk for p, _item in home.context["recommended"]],
        [hit.product.pk for hit, _link in found.context["hits"]],
        [p.pk for p, _item in detail.context["similar"]],
    ) == expected
    failures = [r for r in caplog.records if r.name == "shop.personalization"]
    messages = {r.getMessage() for r in failures}
    assert {
        f"Personalizer ExplodingPersonalizer.{method} failed; answering with the default"
        for method in ("recommend", "rank_search_columns", "similar")
    } <= messages
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)


@pytest.mark.parametrize(
    "path",
    [
        "tests.shop.no_such_module.Personalizer",
        f"{THIS_MODULE}.NoSuchPersonalizer",
        "not a dotted path",
        f"{THIS_MODULE}.ExplodingOnInitPersonalizer",
    ],
)
def test_a_personalizer_that_cannot_be_loaded_falls_back_to_the_default_and_logs(
    client, settings, caplog, ranked_products, path
):
    client.force_login(UserFactory())
    expected = _default_answers(client, ranked_products)
    settings.SHOP_PERSONALIZER = path

    with caplog.at_level(logging.ERROR, logger="shop.personalization"):
        home, found, detail = _visit_every_page(client, ranked_products[0])

    assert (
        [p.pk for p, _item in home.context["recommended"]],
        [hit.product.pk for hit, _link in found.context["hits"]],
        [p.pk for p, _item in detail.context["similar"]],
    ) == expected
    assert get_personalizer().primary is None
    assert f"Cannot load SHOP_PERSONALIZER {path!r}; using the default" in caplog.messages


def test_a_custom_personalizer_reorders_search_results(client, settings, ranked_products):
    url = reverse("shop:search")
    default_titles = [h.product.title for h, _ in client.get(url, {"q": "lip"}).context["hits"]]
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.LeastPopularFirstPersonalizer"

    response = client.get(url, {"q": "lip"})

    titles = [hit.product.title for hit, _link in response.context["hits"]]
    assert default_titles == ["Lip balm 1", "Lip balm 3", "Lip balm 4", "Lip balm 2", "Lip balm 0"]
    assert titles == list(reversed(default_titles))
    assert response.context["result"].personalized


def test_a_custom_personalizer_chooses_the_home_page_recommendations(
    client, settings, ranked_products
):
    client.force_login(UserFactory())
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.LeastPopularFirstPersonalizer"

    response = client.get(reverse("shop:home"))

    recommended = [p for p, _item in response.context["recommended"]]
    by_popularity = sorted(ranked_products, key=lambda p: p.popularity)
    assert recommended == by_popularity
    assert "Hand-picked by the custom personalizer" in response.content.decode()


def test_a_custom_personalizer_chooses_the_similar_items(client, settings, ranked_products):
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.LeastPopularFirstPersonalizer"

    response = client.get(ranked_products[1].get_absolute_url())

    assert [item.reason for _p, item in response.context["similar"]] == ["Custom similar"] * 4


def test_pages_never_show_what_a_personalizer_invents(client, settings, ranked_products):
    inactive = ProductFactory(title="Lip balm retired", is_active=False)
    unmatched = ProductFactory(title="Shampoo")
    client.force_login(UserFactory())
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.RoguePersonalizer"

    home, found, detail = _visit_every_page(client, ranked_products[0])

    hits = [hit.product for hit, _link in found.context["hits"]]
    assert sorted(p.pk for p in hits) == sorted(p.pk for p in ranked_products)  # each once
    recommended = [p for p, _item in home.context["recommended"]]
    similar = [p for p, _item in detail.context["similar"]]
    assert unmatched in recommended
    assert inactive not in recommended
    assert inactive not in similar


def test_resetting_the_setting_restores_the_default(settings):
    settings.SHOP_PERSONALIZER = f"{THIS_MODULE}.LeastPopularFirstPersonalizer"
    assert get_personalizer().primary is not None

    settings.SHOP_PERSONALIZER = DEFAULT_PATH

    assert get_personalizer().primary is None


# --- The shop does not depend on the recommender ---------------------------------------


def _shop_sources() -> list[Path]:
    return sorted(p for p in (REPO_ROOT / "shop").rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.django_db(False)
def test_no_shop_module_imports_the_recommender():
    offenders = []
    for path in _shop_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # import_string("recommender...") / importlib.import_module("recommender...")
                names = [node.value] if node.value.startswith("recommender.") else []
            else:
                continue
            offenders += [
                f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {name}"
                for name in names
                if name == "recommender" or name.startswith("recommender.")
            ]

    assert _shop_sources()
    assert offenders == []


@pytest.mark.django_db(False)
def test_every_shop_module_imports_with_the_recommender_absent():
    """With ``recommender`` unimportable, Django starts and every shop module (views, admin,
    commands, migrations) imports; and no shop module even tried to import it."""
    script = textwrap.dedent(
        """
        import importlib, os, pkgutil, sys

        attempts = []

        class Absent:
            def find_spec(self, name, path=None, target=None):
                if name == "recommender" or name.startswith("recommender."):
                    frame, importers = sys._getframe(1), []
                    while frame is not None:
                        module = frame.f_globals.get("__name__", "")
                        if module == "shop" or module.startswith("shop."):
                            importers.append(module)
                        frame = frame.f_back
                    attempts.append((name, importers))
                    raise ImportError(f"{name} is not installed")
                return None

        sys.meta_path.insert(0, Absent())
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
        import django
        django.setup()
        from django.conf import settings
        assert "recommender" not in settings.INSTALLED_APPS, settings.INSTALLED_APPS
        import shop
        names = [m.name for m in pkgutil.walk_packages(shop.__path__, "shop.")]
        for name in names:
            importlib.import_module(name)
        import config.urls  # noqa: F401
        from django.urls import reverse
        reverse("shop:search")
        assert "recommender" not in sys.modules
        from_shop = [a for a in attempts if a[1]]
        assert not from_shop, from_shop
        print("imported", len(names), "shop modules")
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": "sqlite:///:memory:",
        "HOME": str(REPO_ROOT / "var"),
    }

    options = dict(cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    result = subprocess.run([sys.executable, "-c", script], **options)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout


def test_the_default_columnar_ranking_is_the_item_ranking():
    items = [
        ScoredItem(7, 0.5, features={"popularity": 3}),
        ScoredItem(3, 0.9, features={"popularity": 0}),
        ScoredItem(9, 0.5, features={"popularity": 40}),
        ScoredItem(1, 0.5, features={"popularity": 3}),
    ]
    columns = DefaultPersonalizer().rank_search_columns(
        shopper=Shopper(), query="q", candidates=search_candidates(items)
    )
    built = [columns.item(n) for n in range(len(columns))]
    assert [i.product_id for i in built] == columns.product_ids == [3, 9, 1, 7]
    assert [i.score for i in built] == columns.scores
    assert built[0].components == {"text": 0.9, "popularity": 0.0}
    assert columns.item(1).reason == "Matches your search"


def test_a_personalizer_of_items_only_is_asked_through_the_columnar_call():
    class Reverse(RankSearchFromList):
        def rank_search(self, *, shopper, query, candidates):
            return [ScoredItem(c.product_id, -n, "Reversed") for n, c in enumerate(candidates)][
                ::-1
            ]

        def recommend(self, *, shopper, limit, exclude=()):
            return []

        def similar(self, *, product_id, shopper, limit):
            return []

    candidates = SearchCandidates((1, 2, 3), (1.0, 0.5, 0.2), (0, 0, 0))
    ranked = SafePersonalizer(Reverse(), DefaultPersonalizer()).rank_search_columns(
        shopper=Shopper(), query="q", candidates=candidates
    )
    assert ranked.product_ids == [3, 2, 1]
    assert ranked.item(0).reason == "Reversed"


def test_a_list_plugin_is_handed_each_candidates_text_score_and_popularity():
    seen = []

    class Recorder(RankSearchFromList):
        def rank_search(self, *, shopper, query, candidates):
            seen.extend((c.product_id, c.score, dict(c.features)) for c in candidates)
            return candidates

        def recommend(self, *, shopper, limit, exclude=()):
            return []

        def similar(self, *, product_id, shopper, limit):
            return []

    candidates = SearchCandidates((1, 2), (1.0, 0.5), (7, 0))
    ranked = Recorder().rank_search_columns(shopper=Shopper(), query="q", candidates=candidates)
    assert seen == [(1, 1.0, {"popularity": 7}), (2, 0.5, {"popularity": 0})]
    assert (ranked.product_ids, ranked.scores) == ([1, 2], [1.0, 0.5])


def test_a_personalizer_that_is_not_of_the_interface_cannot_be_made():
    class ListOnly(RankSearchFromList):
        def recommend(self, *, shopper, limit, exclude=()):
            return []

        def similar(self, *, product_id, shopper, limit):
            return []

    with pytest.raises(TypeError, match="rank_search"):
        ListOnly()


def _safe(primary):
    return SafePersonalizer(primary, DefaultPersonalizer())


def test_a_subclass_that_overrides_only_rank_search_is_asked_by_search():
    class Reversed(RankSearchFromList, DefaultPersonalizer):
        def rank_search(self, *, shopper, query, candidates):
            return [ScoredItem(c.product_id, 1.0, "Reversed") for c in reversed(candidates)]

    candidates = SearchCandidates((1, 2, 3), (1.0, 0.5, 0.2), (0, 0, 0))
    ranked = _safe(Reversed()).rank_search_columns(
        shopper=Shopper(), query="q", candidates=candidates
    )
    assert ranked.product_ids == [3, 2, 1]
    assert ranked.item(0).reason == "Reversed"


def test_a_malformed_or_failing_columnar_answer_never_breaks_search(caplog):
    candidates = SearchCandidates((1, 2, 3), (1.0, 0.5, 0.2), (0, 0, 0))

    class ShortScores(DefaultPersonalizer):
        def rank_search_columns(self, *, shopper, query, candidates):
            return RankedSearch([3, 2, 1], [1.0], lambda n: None)

    class BrokenItems(DefaultPersonalizer):
        def rank_search_columns(self, *, shopper, query, candidates):
            def item(position):
                if position == 1:
                    raise RuntimeError("boom")
                return ScoredItem(99, 5.0, "Lies about its id", {"x": 1.0})

            return RankedSearch([3, 2, 1], [0.9, 0.8, 0.7], item)

    with caplog.at_level(logging.ERROR, logger="shop.personalization"):
        short = _safe(ShortScores()).rank_search_columns(
            shopper=Shopper(), query="q", candidates=candidates
        )
        broken = _safe(BrokenItems()).rank_search_columns(
            shopper=Shopper(), query="q", candidates=candidates
        )
        items = [broken.item(n) for n in range(3)]
    assert short.product_ids == [1, 2, 3]  # the default's answer
    assert [i.product_id for i in items] == [3, 2, 1]  # the checked ids, not the items'
    assert [i.score for i in items] == [0.9, 0.8, 0.7]
    assert items[1].reason == "Matches your search" and items[0].reason == "Lies about its id"
    messages = [r.getMessage() for r in caplog.records]
    assert any("ShortScores.rank_search_columns answered badly" in m for m in messages)
    assert any("BrokenItems.rank_search_columns item failed" in m for m in messages)
