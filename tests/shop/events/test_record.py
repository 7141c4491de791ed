"""Recording storefront events (shop.events.record.event_record)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.events.record import event_record
from shop.models import Event, EventType, Product
from shop.popularity import popularity_refresh
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # outside a transaction, as in a request
def test_a_search_event_is_one_statement_on_postgres_and_reads_back_whole():
    user = UserFactory()
    shopper = Shopper(user_id=user.pk, session_id="s" * 80, personalize=True)
    context = {"shown": [3, 1, 2], "components": [{"text": 0.5, "x_text": 1.0}], "results": 3}

    with CaptureQueriesContext(connection) as queries:
        event = event_record(
            shopper=shopper, event_type=EventType.SEARCH, query="drill", context=context
        )

    stored = Event.objects.get(pk=event.pk)
    assert (stored.user_id, stored.event_type, stored.query) == (user.pk, "search", "drill")
    assert stored.context == context
    assert stored.session_id == "s" * 64
    assert stored.received_at is not None and stored.occurred_at == event.occurred_at
    assert not event._state.adding  # a saved instance, as Model.save leaves it
    if connection.vendor == "postgresql":
        [statement] = [q["sql"] for q in queries]
        assert statement.startswith("SET LOCAL synchronous_commit TO OFF; INSERT INTO")


@pytest.mark.django_db(transaction=True)
def test_the_compiled_insert_writes_each_events_own_values():
    first_user, second_user = UserFactory(), UserFactory()
    product = ProductFactory()
    first = event_record(
        shopper=Shopper(user_id=first_user.pk, session_id="a"),
        event_type=EventType.SEARCH,
        query="first query",
        context={"shown": [1]},
        source="app",
    )
    second = event_record(
        shopper=Shopper(user_id=second_user.pk, session_id="b"),
        event_type=EventType.RATING,
        product_id=product.pk,
        value=4.0,
        position=2,
    )
    third = event_record(
        shopper=Shopper(session_id="anonymous-session"), event_type=EventType.SEARCH, query="x"
    )
    rows = {e.pk: e for e in Event.objects.filter(pk__in=[first.pk, second.pk, third.pk])}
    for recorded in (first, second, third):
        stored = rows[recorded.pk]
        for field in Event._meta.concrete_fields:
            if field.name != "received_at":
                assert getattr(stored, field.attname) == getattr(recorded, field.attname), field
    assert rows[first.pk].source == "app" and rows[second.pk].value == 4.0
    assert rows[third.pk].user_id is None and rows[third.pk].session_id == "anonymous-session"
    assert len({first.client_event_id, second.client_event_id, third.client_event_id}) == 3


def test_inside_a_transaction_an_event_keeps_its_savepoint():
    shopper = Shopper(user_id=UserFactory().pk, session_id="", personalize=True)
    with CaptureQueriesContext(connection) as queries:
        event = event_record(shopper=shopper, event_type=EventType.SEARCH, query="drill")
    assert Event.objects.filter(pk=event.pk).exists()
    assert any(q["sql"].startswith("SAVEPOINT") for q in queries)


def test_a_product_event_is_stored_alone_and_popularity_waits_for_its_refresh():
    product = ProductFactory(popularity=0)
    shopper = Shopper(user_id=UserFactory().pk, session_id="", personalize=True)

    event = event_record(shopper=shopper, event_type=EventType.PURCHASE, product_id=product.pk)

    assert Event.objects.filter(pk=event.pk, product=product).exists()
    assert Product.objects.get(pk=product.pk).popularity == 0  # no counter in the request
    popularity_refresh()
    assert Product.objects.get(pk=product.pk).popularity > 0


def test_nobody_to_attribute_an_event_to_records_nothing():
    shopper = Shopper(user_id=None, session_id="", personalize=True)
    assert event_record(shopper=shopper, event_type=EventType.SEARCH, query="x") is None
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_context_reads_back_as_json_would_store_it():
    shopper = Shopper(user_id=UserFactory().pk, session_id="s")
    event = event_record(
        shopper=shopper,
        event_type=EventType.SEARCH,
        query="q",
        context={5: "int key", "nested": {"a": [1, 2.5, None]}, "text": "café 東京"},
    )
    stored = Event.objects.get(pk=event.pk).context
    assert stored == {"5": "int key", "nested": {"a": [1, 2.5, None]}, "text": "café 東京"}
