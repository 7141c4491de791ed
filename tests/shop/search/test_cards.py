"""Page products built from the cached card rows, as the ORM would load them."""

import pytest
from django.db.models.signals import post_init

from shop.models import Product
from shop.search import postgres, service, sqlite
from shop.search.cards import HIT_FIELDS
from tests.shop.search.helpers import run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("window", [300, 1])  # the page inside / past the re-rank window
def test_page_products_are_the_ones_the_orm_would_load(
    tools, monkeypatch, window, django_assert_num_queries
):
    for module in (postgres, sqlite, service):
        monkeypatch.setattr(module, "RERANK_WINDOW", window)
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
    run("roll")
    hit = run("roll").hits[0]  # built from the cached card rows
    product = hit.product
    assert product._state.adding is False and product._state.db == "default"
    product.title = "Renamed roll"
    product.save()  # an UPDATE of the loaded fields, not an INSERT
    assert Product.objects.get(pk=product.pk).title == "Renamed roll"
    assert Product.objects.filter(title="Renamed roll").count() == 1


def test_a_post_init_listener_still_hears_the_page_products(tools):
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


def test_the_products_of_a_page_get_their_own_instances_and_share_their_category(tools):
    run("roll")
    first, second = (hit.product for hit in run("roll").hits)
    assert first.pk != second.pk
    assert first.category is second.category and first.category.name == "Sanding Rolls"
