"""The search surface: through real storefront searches, a shopper's arm decides their
order (the personalized one, or lexical), is recorded with the search, and the shopper
is counted once, when a page whose order the arm decides is shown."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shop.experiments.assignment import experiment_assignment, serving_forget
from shop.experiments.services import experiment_declare_winner, experiment_stop
from shop.models import Event, EventType, ExperimentArm, Exposure
from shop.personalization import RankSearchFromList
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db
SEARCH_URL = reverse("shop:search")


class ReversedForPersonalized(RankSearchFromList):
    """A plug-in whose personalized order is the text order reversed: the two arms'
    pages differ visibly. The default answers everything else."""

    name = "reversed"

    def rank_search(self, *, shopper, query, candidates):
        return list(reversed(candidates)) if shopper.personalize else candidates

    def recommend(self, *, shopper, limit, exclude=()):
        return []

    def similar(self, *, product_id, shopper, limit):
        return []


@pytest.fixture(autouse=True)
def _reversing_personalizer(settings):
    settings.SHOP_PERSONALIZER = f"{__name__}.ReversedForPersonalized"


@pytest.fixture
def lamps(db):
    # Text order: the title with the most matches first.
    return [
        ProductFactory(title="lamp lamp lamp desk"),
        ProductFactory(title="lamp lamp table"),
        ProductFactory(title="lamp floor"),
    ]


def shopper_in(arm_name: str):
    """A signed-in shopper whose hash puts them in ``arm_name``."""
    for _ in range(100):
        user = UserFactory()
        assignment = experiment_assignment(surface="search", shopper=Shopper(user_id=user.pk))
        if assignment.arm_name == arm_name:
            return user
    raise AssertionError(f"nobody landed in {arm_name}")


def titles(response) -> list[str]:
    return [hit.product.title for hit, _link in response.context["hits"]]


def test_each_arm_gets_its_order_and_the_search_event_says_which(client, lamps):
    experiment = experiment_made()
    text_order = [p.title for p in lamps]
    for arm, expected, label in (
        ("control", text_order[::-1], True),
        ("lexical", text_order, False),
    ):
        user = shopper_in(arm)
        client.force_login(user)
        response = client.get(SEARCH_URL, {"q": "lamp"})
        assert response.status_code == 200
        assert titles(response) == expected
        # The order is personalized in the control arm only (whether the page also says
        # "ordered for you" depends on the personalizer's reasons: test_storefront_labels).
        assert response.context["result"].personalized is label
        event = Event.objects.filter(user=user, event_type=EventType.SEARCH).get()
        assert event.context["personalized"] is label
        assert event.context["experiment"] == {"experiment": experiment.pk, "arm": arm}
        exposure = Exposure.objects.get(experiment=experiment, shopper_key=f"u:{user.pk}")
        assert exposure.arm.name == arm and exposure.user_id == user.pk


def test_a_shopper_is_counted_once_and_later_searches_do_not_write(client, lamps):
    experiment_made()
    user = UserFactory()
    client.force_login(user)
    client.get(SEARCH_URL, {"q": "lamp"})
    with CaptureQueriesContext(connection) as queries:
        client.get(SEARCH_URL, {"q": "lamp", "page": 1})
    assert Exposure.objects.count() == 1
    assert not [q for q in queries.captured_queries if "shop_exposure" in q["sql"]]


def test_an_anonymous_visitor_is_counted_by_their_session(client, lamps):
    experiment = experiment_made()
    client.get(SEARCH_URL, {"q": "lamp"})
    exposure = Exposure.objects.get(experiment=experiment)
    assert exposure.shopper_key == f"s:{client.session.session_key}"
    assert exposure.user_id is None and exposure.session_id == client.session.session_key


def test_a_page_the_arm_does_not_order_counts_nobody(client, lamps):
    experiment_made()
    client.force_login(UserFactory())
    response = client.get(SEARCH_URL, {"q": "lamp", "sort": "newest"})
    assert response.status_code == 200
    assert not Exposure.objects.exists()
    client.get(SEARCH_URL, {"q": "no such thing anywhere"})
    assert not Exposure.objects.exists()


def test_an_opted_out_shopper_is_not_in_the_experiment(client, lamps):
    experiment_made()
    client.force_login(UserFactory())
    client.post(reverse("shop:personalization"), {"opt_out": "1"})
    response = client.get(SEARCH_URL, {"q": "lamp"})
    assert response.status_code == 200
    assert not Exposure.objects.exists()


def test_a_broken_arm_serves_the_default_order_and_never_breaks_search(client, lamps):
    experiment = experiment_made(
        arms=(
            ("control", 50, {"search_order": "personalized"}),
            ("lexical", 50, {"search_order": "lexical"}),
        )
    )
    ExperimentArm.objects.filter(experiment=experiment).update(variant={"search_order": "oops"})
    serving_forget()
    client.force_login(UserFactory())
    response = client.get(SEARCH_URL, {"q": "lamp"})
    assert response.status_code == 200
    assert titles(response) == [p.title for p in lamps][::-1]  # the configured order
    assert not Exposure.objects.exists()


def test_a_stopped_experiment_serves_its_winning_order_to_everyone_uncounted(client, lamps):
    experiment = experiment_made()
    shoppers = [shopper_in("control"), shopper_in("lexical")]
    experiment_stop(experiment=experiment)
    lexical = experiment.arms.get(name="lexical")
    experiment_declare_winner(experiment=experiment, arm=lexical, override_reason="tested")
    for user in shoppers:
        client.force_login(user)
        response = client.get(SEARCH_URL, {"q": "lamp"})
        assert titles(response) == [p.title for p in lamps]
        assert "ordered for you" not in response.content.decode()
    assert not Exposure.objects.exists()
