import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.models import Category, Event, EventType, Product
from tests.factories import EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_category_tree_keeps_materialized_paths():
    root = Category.objects.create(name="Beauty", slug="beauty")
    child = Category.objects.create(name="Nails", parent=root, slug="nails")
    grandchild = Category.objects.create(name="Polish", parent=child, slug="polish")
    Category.objects.create(name="Hair", slug="hair")
    assert grandchild.path == "Beauty > Nails > Polish"
    assert grandchild.depth == 2
    assert set(root.descendant_ids()) == {root.pk, child.pk, grandchild.pk}


def test_sku_is_unique():
    ProductFactory(sku="A-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(sku="A-1")


@pytest.mark.parametrize(
    "fields",
    [
        {"price": "-1.00", "currency": "EUR"},
        {"price": None, "currency": "EUR"},  # a currency without a price
        {"sku": ""},
    ],
)
def test_product_constraints_reject_invalid_rows(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(**fields)


def test_product_with_unknown_price_is_valid():
    product = ProductFactory(price=None, currency="")
    assert Product.objects.get(pk=product.pk).price is None


def test_event_needs_a_user_or_a_session():
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory(user=None, session_id="")
    assert EventFactory(user=None, session_id="abc").pk


def test_event_needs_a_product_unless_it_is_a_search():
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory(product=None, event_type=EventType.VIEW)
    assert EventFactory(product=None, event_type=EventType.SEARCH, query="nail polish").pk


def test_rating_value_must_be_between_1_and_5():
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory(event_type=EventType.RATING, value=7)
    assert EventFactory(event_type=EventType.RATING, value=4).pk


def test_client_event_id_is_unique_per_source():
    user = UserFactory()
    product = ProductFactory()
    common = {"user": user, "product": product, "event_type": "view", "occurred_at": timezone.now()}
    Event.objects.create(source="app", client_event_id="e1", **common)
    Event.objects.create(source="web", client_event_id="e1", **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(source="app", client_event_id="e1", **common)
