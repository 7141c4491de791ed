"""The shopper's rendered recommendations are kept (shop.recommendations) and dropped
whenever what they show may have changed."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.api import catalogue as catalogue_api
from shop.models import ShopperProfile
from shop.signals import events_recorded, personalization_changed
from tests.factories import UserFactory
from tests.shop.api.helpers import RECOMMENDATIONS_URL, FakePersonalizer

pytestmark = pytest.mark.django_db


class UncachedPersonalizer(FakePersonalizer):
    recommendations_cacheable = False


@pytest.fixture
def shopper(client, catalogue):
    user = UserFactory()
    client.force_login(user)
    return user


def ids(response):
    assert response.status_code == 200, response.content
    return [p["id"] for p in response.json()]


def test_the_second_ask_is_the_kept_page_without_reading_products_or_events(client, shopper):
    first = client.get(RECOMMENDATIONS_URL)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(RECOMMENDATIONS_URL)

    assert second.content == first.content and ids(second)
    assert second["Content-Type"] == "application/json"
    assert second["Cache-Control"] == "private, no-store"
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "shop_product" not in sql and "shop_event" not in sql


def test_pages_are_kept_per_parameters(client, shopper):
    one = ids(client.get(RECOMMENDATIONS_URL, {"limit": 1}))
    assert len(one) == 1
    assert len(ids(client.get(RECOMMENDATIONS_URL, {"limit": 2}))) == 2
    assert one[0] not in ids(client.get(RECOMMENDATIONS_URL, {"exclude": one[0]}))
    assert ids(client.get(RECOMMENDATIONS_URL, {"limit": 1})) == one


@pytest.fixture
def changing(fake_personalizer, catalogue, client, shopper):
    """A personalizer whose answer the test changes: the first answer is kept."""
    fake_personalizer.answer = [catalogue["red"].pk]
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["red"].pk]
    fake_personalizer.answer = [catalogue["shampoo"].pk]
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["red"].pk]  # kept
    return [catalogue["shampoo"].pk]


def test_the_shoppers_new_events_drop_their_page(changing, client, shopper):
    events_recorded.send(sender=None, user_ids={shopper.pk + 1000}, event_types={"view"})
    assert ids(client.get(RECOMMENDATIONS_URL)) != changing  # somebody else's: kept
    events_recorded.send(sender=None, user_ids={shopper.pk}, event_types={"search"})
    assert ids(client.get(RECOMMENDATIONS_URL)) != changing  # a search alone: kept

    events_recorded.send(sender=None, user_ids={shopper.pk}, event_types={"view"})
    assert ids(client.get(RECOMMENDATIONS_URL)) == changing


def test_a_re_scored_shopper_gets_the_new_answer(changing, client, shopper):
    personalization_changed.send(sender=None, user_ids=[shopper.pk])
    assert ids(client.get(RECOMMENDATIONS_URL)) == changing


def test_another_model_drops_everybodys_page(changing, client):
    personalization_changed.send(sender=None, everyone=True)
    assert ids(client.get(RECOMMENDATIONS_URL)) == changing


def test_a_catalogue_change_drops_every_page(changing, client, catalogue):
    catalogue["matte"].save()
    assert ids(client.get(RECOMMENDATIONS_URL)) == changing


def test_opting_out_drops_the_page(changing, client, shopper):
    ShopperProfile.objects.create(user=shopper, personalization_opt_out=True)
    client.force_login(shopper)  # the profile is loaded with the user
    assert ids(client.get(RECOMMENDATIONS_URL)) == changing


def test_anonymous_devices_are_kept_apart(fake_personalizer, client, catalogue):
    fake_personalizer.answer = [catalogue["red"].pk]
    assert ids(client.get(RECOMMENDATIONS_URL, HTTP_X_DEVICE_ID="phone-0001"))
    fake_personalizer.answer = [catalogue["shampoo"].pk]
    other = client.get(RECOMMENDATIONS_URL, HTTP_X_DEVICE_ID="phone-0002")
    assert ids(other) == [catalogue["shampoo"].pk]


def test_a_personalizer_that_does_not_allow_it_is_asked_every_time(
    settings, client, shopper, catalogue
):
    settings.SHOP_PERSONALIZER = f"{__name__}.UncachedPersonalizer"
    FakePersonalizer.answer = [catalogue["red"].pk]
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["red"].pk]
    FakePersonalizer.answer = [catalogue["shampoo"].pk]
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["shampoo"].pk]


def test_the_browsable_api_is_never_kept(client, shopper):
    assert client.get(RECOMMENDATIONS_URL, HTTP_ACCEPT="text/html").status_code == 200
    assert client.get(RECOMMENDATIONS_URL, HTTP_ACCEPT="text/html").status_code == 200


def test_a_forget_while_the_page_is_computed_is_not_overwritten(
    fake_personalizer, client, shopper, catalogue, monkeypatch
):
    fake_personalizer.answer = [catalogue["red"].pk]
    computing = catalogue_api.recommendations_for_shopper

    def re_scored_meanwhile(**kwargs):
        items = computing(**kwargs)
        personalization_changed.send(sender=None, user_ids=[shopper.pk])
        fake_personalizer.answer = [catalogue["shampoo"].pk]
        return items

    monkeypatch.setattr(catalogue_api, "recommendations_for_shopper", re_scored_meanwhile)
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["red"].pk]
    monkeypatch.setattr(catalogue_api, "recommendations_for_shopper", computing)

    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["shampoo"].pk]


class FailingOnce(FakePersonalizer):
    failures = 1

    def recommend(self, *, shopper, limit, exclude=()):
        if FailingOnce.failures:
            FailingOnce.failures -= 1
            raise RuntimeError("a passing failure")
        return super().recommend(shopper=shopper, limit=limit, exclude=exclude)


def test_an_answer_of_the_fallback_is_not_kept(settings, client, shopper, catalogue):
    settings.SHOP_PERSONALIZER = f"{__name__}.FailingOnce"
    FailingOnce.failures = 1
    FakePersonalizer.answer = [catalogue["shampoo"].pk]

    fallback = ids(client.get(RECOMMENDATIONS_URL))

    assert fallback != [catalogue["shampoo"].pk]  # the default's popular products
    assert ids(client.get(RECOMMENDATIONS_URL)) == [catalogue["shampoo"].pk]


def test_a_deleted_shoppers_pages_go_with_them(client, shopper):
    assert ids(client.get(RECOMMENDATIONS_URL))
    key = f"shop:recs-pages:u{shopper.pk}"
    assert cache.get(key)[2]
    shopper.delete()
    assert not cache.get(key)[2]


def test_forgetting_a_whole_refresh_writes_only_the_entries_that_exist(client, shopper):
    assert ids(client.get(RECOMMENDATIONS_URL))
    others = list(range(10**6, 10**6 + 200))

    personalization_changed.send(sender=None, user_ids=[shopper.pk, *others])

    assert not cache.get(f"shop:recs-pages:u{shopper.pk}")[2]
    assert cache.get(f"shop:recs-pages:u{others[0]}") is None
