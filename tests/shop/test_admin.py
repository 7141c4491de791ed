"""The admin of the catalogue and the event log, as staff use it.

List pages must cost a constant number of queries whatever the number of rows (no N+1),
since the event table holds millions of rows.
"""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop.models import Brand, Category, Event, EventType, Product
from tests.factories import (
    BrandFactory,
    CategoryFactory,
    EventFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ("product", "category", "brand", "event")
MAX_CHANGELIST_QUERIES = 15


def changelist_url(model: str) -> str:
    return reverse(f"admin:shop_{model}_changelist")


def _make_categories(n: int) -> None:
    for _ in range(n):
        CategoryFactory(parent=CategoryFactory())


def _make_events(n: int) -> None:
    # Every event with its own user and product, so a per-row lookup would show.
    for i in range(n):
        EventFactory(event_type=EventType.SEARCH if i % 5 == 0 else EventType.VIEW, query="q")


ROW_MAKERS = {
    "product": lambda n: ProductFactory.create_batch(n),
    "category": _make_categories,
    "brand": lambda n: BrandFactory.create_batch(n),
    "event": _make_events,
}


def _queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def sample():
    """One of everything, linked together."""
    parent = CategoryFactory(name="Beauty")
    category = CategoryFactory(name="Lipstick", parent=parent)
    brand = BrandFactory(name="Glowco")
    product = ProductFactory(title="Red velvet lipstick", category=category, brand=brand)
    user = UserFactory(username="ann")
    event = EventFactory(user=user, product=product, session_id="sess-abcdef-123", query="red lips")
    return {
        "category": category,
        "brand": brand,
        "product": product,
        "event": event,
        "user": user,
    }


# --- Pages load --------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_changelist_loads_for_a_superuser(admin_client, sample, model):
    response = admin_client.get(changelist_url(model))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", MODELS)
def test_add_page_loads_for_a_superuser(admin_client, model):
    assert admin_client.get(reverse(f"admin:shop_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_page_loads_for_a_superuser(admin_client, sample, model):
    obj = sample[model]

    response = admin_client.get(reverse(f"admin:shop_{model}_change", args=[obj.pk]))

    assert response.status_code == 200
    assert response.context["original"] == obj


def test_admin_index_lists_the_shop_models(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    body = response.content.decode()
    for model in MODELS:
        assert changelist_url(model) in body


def test_product_can_be_added_through_the_admin(admin_client, sample):
    response = admin_client.post(
        reverse("admin:shop_product_add"),
        {
            "sku": "NEW-1",
            "title": "New lipstick",
            "description": "",
            "category": sample["category"].pk,
            "brand": sample["brand"].pk,
            "price": "12.50",
            "currency": "EUR",
            "stock": "3",
            "is_active": "on",
            "attributes": "{}",
            "image_url": "",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(sku="NEW-1")
    assert (product.category, product.brand, product.stock) == (
        sample["category"],
        sample["brand"],
        3,
    )


def test_category_added_under_a_parent_gets_its_path(admin_client, sample):
    response = admin_client.post(
        reverse("admin:shop_category_add"),
        {"name": "Gloss", "slug": "gloss", "parent": sample["category"].pk},
    )

    assert response.status_code == 302
    assert Category.objects.get(slug="gloss").path == "Beauty > Lipstick > Gloss"


# --- Query counts do not grow with rows ----------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_max_num_queries, model
):
    make_rows = ROW_MAKERS[model]
    url = changelist_url(model)
    make_rows(5)
    admin_client.get(url)  # warm up per-process caches (content types, sessions)
    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
        admin_client.get(url)
    few = _queries_for(admin_client, url)

    make_rows(50)
    many = _queries_for(admin_client, url)

    assert many == few


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("event", "?event_type=view"),
        ("event", "?q=q"),
        ("product", "?is_active__exact=1"),
        ("product", "?q=Product"),
    ],
)
def test_filtered_changelist_query_count_does_not_grow_with_rows(admin_client, model, query):
    make_rows = ROW_MAKERS[model]
    url = changelist_url(model) + query
    make_rows(5)
    admin_client.get(url)
    few = _queries_for(admin_client, url)

    make_rows(50)
    many = _queries_for(admin_client, url)

    assert many == few


@pytest.mark.parametrize("model", ["product", "event"])
def test_change_page_query_count_is_small(
    admin_client, sample, django_assert_max_num_queries, model
):
    url = reverse(f"admin:shop_{model}_change", args=[sample[model].pk])
    admin_client.get(url)

    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
        assert admin_client.get(url).status_code == 200


# --- Search ------------------------------------------------------------------------------


def _result_pks(response) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "term",
    [
        "sess-abcdef-123",  # exact session id
        "ann",  # exact username
        "red",  # start of the search query
    ],
)
def test_event_changelist_search_finds_the_event(admin_client, sample, term):
    EventFactory(session_id="other-session", query="blue")

    response = admin_client.get(changelist_url("event"), {"q": term})

    assert _result_pks(response) == {sample["event"].pk}


def test_event_changelist_search_by_client_event_id(admin_client, sample):
    response = admin_client.get(changelist_url("event"), {"q": sample["event"].client_event_id})

    assert _result_pks(response) == {sample["event"].pk}


def test_event_changelist_search_without_a_match_is_empty(admin_client, sample):
    response = admin_client.get(changelist_url("event"), {"q": "no-such-thing"})

    assert _result_pks(response) == set()


def test_event_changelist_filters_by_event_type(admin_client, sample):
    search = EventFactory(product=None, event_type=EventType.SEARCH, query="lips")

    response = admin_client.get(changelist_url("event"), {"event_type__exact": "search"})

    assert _result_pks(response) == {search.pk}


@pytest.mark.parametrize("term", ["velvet", "Red velvet", "SKU-EXACT-1"])
def test_product_changelist_search_by_title_or_exact_sku(admin_client, sample, term):
    Product.objects.filter(pk=sample["product"].pk).update(sku="SKU-EXACT-1")
    ProductFactory(title="Shampoo")

    response = admin_client.get(changelist_url("product"), {"q": term})

    assert _result_pks(response) == {sample["product"].pk}


def test_product_changelist_sku_search_is_exact(admin_client, sample):
    Product.objects.filter(pk=sample["product"].pk).update(sku="SKU-EXACT-1")

    response = admin_client.get(changelist_url("product"), {"q": "SKU-EXACT"})

    assert _result_pks(response) == set()


def test_category_and_brand_changelists_search_by_name(admin_client, sample):
    CategoryFactory(name="Hair")
    BrandFactory(name="Acme")

    categories = admin_client.get(changelist_url("category"), {"q": "Lipstick"})
    brands = admin_client.get(changelist_url("brand"), {"q": "glow"})

    assert _result_pks(categories) == {sample["category"].pk}
    assert _result_pks(brands) == {sample["brand"].pk}


# --- Autocomplete ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_name", "field_name", "term", "expected"),
    [
        ("product", "category", "lip", "category"),
        ("product", "brand", "glow", "brand"),
        ("category", "parent", "lip", "category"),
    ],
)
def test_autocomplete_finds_categories_and_brands(
    admin_client, sample, model_name, field_name, term, expected
):
    CategoryFactory(name="Hair")
    BrandFactory(name="Acme")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "shop", "model_name": model_name, "field_name": field_name, "term": term},
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [str(sample[expected].pk)]
    assert results[0]["text"] == str(sample[expected])


def test_autocomplete_is_refused_to_non_staff(client, sample):
    client.force_login(UserFactory())

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "shop", "model_name": "product", "field_name": "brand", "term": "g"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Access ------------------------------------------------------------------------------


@pytest.mark.parametrize("logged_in", [True, False], ids=["non-staff-user", "anonymous"])
@pytest.mark.parametrize("model", MODELS)
def test_non_staff_visitors_are_sent_to_the_admin_login(client, logged_in, model):
    if logged_in:
        client.force_login(UserFactory())
    url = changelist_url(model)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_staff_without_permissions_cannot_see_the_event_log(client, sample):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(changelist_url("event")).status_code == 403


# --- Actions ------------------------------------------------------------------------------


def _run_action(client, action: str, products) -> None:
    response = client.post(
        changelist_url("product"),
        {
            "action": action,
            "index": "0",
            "select_across": "0",
            "_selected_action": [p.pk for p in products],
        },
        follow=True,
    )
    assert response.status_code == 200
    return response


def test_deactivate_action_deactivates_only_the_selected_products(admin_client):
    chosen = ProductFactory.create_batch(2)
    other = ProductFactory()

    response = _run_action(admin_client, "deactivate", chosen)

    assert not Product.objects.filter(pk__in=[p.pk for p in chosen], is_active=True).exists()
    assert Product.objects.get(pk=other.pk).is_active
    assert "2 product(s) deactivated." in response.content.decode()


def test_a_deactivated_product_leaves_the_cached_search_results(
    admin_client, django_capture_on_commit_callbacks
):
    from shop.search.params import SearchParams
    from shop.search.service import search_products
    from shop.shoppers import Shopper

    def search():
        params = SearchParams.from_mapping({"q": "lantern"})
        return [h.product.pk for h in search_products(params=params, shopper=Shopper()).hits]

    lanterns = ProductFactory.create_batch(2, title="Camping lantern")
    assert sorted(search()) == sorted(p.pk for p in lanterns)  # now cached
    with django_capture_on_commit_callbacks(execute=True):  # an update sends no signal
        _run_action(admin_client, "deactivate", lanterns[:1])
    assert search() == [lanterns[1].pk]


def test_activate_action_activates_the_selected_products(admin_client):
    chosen = ProductFactory.create_batch(3, is_active=False)
    other = ProductFactory(is_active=False)

    response = _run_action(admin_client, "activate", chosen)

    assert Product.objects.filter(pk__in=[p.pk for p in chosen], is_active=True).count() == 3
    assert not Product.objects.get(pk=other.pk).is_active
    assert "3 product(s) activated." in response.content.decode()


def test_actions_need_the_change_permission(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(staff)
    product = ProductFactory()

    response = client.get(changelist_url("product"))

    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action offered
    client.post(
        changelist_url("product"),
        {"action": "deactivate", "index": "0", "_selected_action": [product.pk]},
    )
    assert Product.objects.get(pk=product.pk).is_active


def test_the_shop_models_are_all_registered():
    from django.contrib import admin

    for model in (Product, Category, Brand, Event):
        assert admin.site.is_registered(model)


def test_the_event_list_shows_a_session_id_whole_in_its_title_and_links_the_inspector(
    admin_client,
):
    session_id = "0123456789abcdefghijklmnopqrstuv"  # a Django session key's 32 characters
    EventFactory(user=None, session_id=session_id)
    signed_in = EventFactory(session_id="signed-in-session-0001")

    page = admin_client.get(changelist_url("event")).content.decode()

    inspector = reverse("dashboards:inspector")
    assert (
        f'<a href="{inspector}?session={session_id}" title="{session_id}">0123456789ab…</a>' in page
    )
    user_link = f"{inspector}?session=signed-in-session-0001&amp;user={signed_in.user_id}"
    assert f'<a href="{user_link}" title="signed-in-session-0001">signed-in-se…</a>' in page
    # The explain view and the inspector take the whole id the link carries.
    response = admin_client.get(f"{inspector}?session={session_id}")
    assert response.context["shopper"].session_id == session_id
