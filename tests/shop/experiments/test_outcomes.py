"""The ``experiments`` rollup: each exposed shopper's clicks, purchases and revenue after
their exposure and before the experiment stopped, from their own events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shop.experiments.outcomes import experiment_outcomes_recount, purchase_revenue
from shop.experiments.services import experiment_stop
from shop.models import Event, EventType, Exposure
from shop.rollups import rollups_refresh
from tests.factories import ProductFactory, UserFactory
from tests.shop.experiments.helpers import experiment_made, started_ago

pytestmark = pytest.mark.django_db


def event(shopper, product, event_type, when, *, value=None, context=None, session=""):
    return Event.objects.create(
        user=shopper,
        session_id=session,
        product=product,
        event_type=event_type,
        value=value,
        context=context or {},
        client_event_id=f"e{Event.objects.count()}",
        occurred_at=when,
    )


def exposed(experiment, *, user=None, session="", at):
    key = f"u:{user.pk}" if user else f"s:{session}"
    return Exposure.objects.create(
        experiment=experiment,
        arm=experiment.arms.first(),
        shopper_key=key,
        user=user,
        session_id=session,
        first_exposed_at=at,
    )


def test_revenue_is_quantity_times_the_price_paid_else_the_products_price():
    assert purchase_revenue(value=2, context={"price": "4.50"}, product_price=None) == Decimal(
        "9.00"
    )
    assert purchase_revenue(value=3, context={}, product_price=Decimal("9.99")) == Decimal("29.97")
    assert purchase_revenue(value=None, context={}, product_price=Decimal("5")) == Decimal("5.00")
    assert purchase_revenue(value=1, context={"price": "oops"}, product_price=Decimal("2")) == 2
    assert purchase_revenue(value=1, context={"price": -3}, product_price=Decimal("2")) == 2
    assert purchase_revenue(value=1, context={}, product_price=None) == 0


def test_only_events_after_the_exposure_count():
    experiment = started_ago(experiment_made(), timedelta(days=4))
    now = timezone.now()
    shopper, other = UserFactory(), UserFactory()
    product = ProductFactory(price=Decimal("10.00"))
    exposure = exposed(experiment, user=shopper, at=now - timedelta(minutes=30))
    event(shopper, product, EventType.CLICK, now - timedelta(minutes=40))  # before
    event(shopper, product, EventType.CLICK, now - timedelta(minutes=20))
    event(shopper, product, EventType.CLICK, now - timedelta(minutes=10))
    event(shopper, product, EventType.VIEW, now - timedelta(minutes=10))  # not an outcome
    event(shopper, product, EventType.PURCHASE, now - timedelta(minutes=5), value=2)
    event(other, product, EventType.PURCHASE, now - timedelta(minutes=5))  # not exposed
    rollups_refresh()
    exposure.refresh_from_db()
    assert (exposure.clicks, exposure.purchases, exposure.revenue) == (2, 1, Decimal("20.00"))
    assert exposure.outcomes_counted_at is not None
    assert Exposure.objects.count() == 1


def test_an_anonymous_session_is_followed_and_nothing_after_the_stop_counts():
    experiment = started_ago(experiment_made(), timedelta(days=4))
    now = timezone.now()
    product = ProductFactory(price=Decimal("3.00"))
    exposure = exposed(experiment, session="abc123", at=now - timedelta(hours=2))
    event(None, product, EventType.PURCHASE, now - timedelta(hours=1), session="abc123")
    experiment_stop(experiment=experiment)
    event(
        None, product, EventType.PURCHASE, timezone.now() + timedelta(seconds=1), session="abc123"
    )
    rollups_refresh()
    exposure.refresh_from_db()
    assert (exposure.purchases, exposure.revenue) == (1, Decimal("3.00"))


def test_counting_again_gives_the_same_counters():
    experiment = started_ago(experiment_made(), timedelta(days=4))
    now = timezone.now()
    shopper = UserFactory()
    exposure = exposed(experiment, user=shopper, at=now - timedelta(hours=1))
    event(shopper, ProductFactory(), EventType.CLICK, now - timedelta(minutes=1))
    rollups_refresh()
    rollups_refresh(full=True)
    assert experiment_outcomes_recount(experiment=experiment) == 1
    exposure.refresh_from_db()
    assert exposure.clicks == 1


def test_a_late_event_of_an_earlier_day_is_counted_on_the_next_refresh():
    experiment = started_ago(experiment_made(), timedelta(days=4))
    shopper = UserFactory()
    now = timezone.now()
    exposure = exposed(experiment, user=shopper, at=now - timedelta(days=3))
    rollups_refresh()
    # Imported afterwards, about two days ago.
    event(shopper, ProductFactory(), EventType.CLICK, now - timedelta(days=2))
    rollups_refresh()
    exposure.refresh_from_db()
    assert exposure.clicks == 1
