"""Warming a web process up: the model loaded once at start-up, never again by the first
search; nothing harmful without a model or with a broken one."""

from __future__ import annotations

import logging

import pytest

from config.warmup import warm_up_query, web_process_warm_up
from recommender.models import ModelVersion
from recommender.serving import model as serving
from recommender.serving.warmup import WARM_UP_SESSION, model_warm_up
from recommender.signals import model_loaded
from shop.search.cache import local_matches
from shop.search.params import SearchParams
from shop.search.service import search_products
from shop.shoppers import Shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def loads():
    """The version ids of the models this process loads (one signal per load)."""
    loaded: list[int] = []

    def record(sender, version_id, **kwargs):
        loaded.append(version_id)

    model_loaded.connect(record)
    yield loaded
    model_loaded.disconnect(record)


def test_warm_up_loads_the_active_model_and_the_first_search_does_not_load_it_again(
    active_version, shop_data, loads
):
    timings = web_process_warm_up()

    assert set(timings) == {"urls", "model", "search"}
    assert loads == [active_version.pk]
    assert len(local_matches) >= 1  # the warm-up's search is cached for the next one
    first = search_products(
        params=SearchParams.from_mapping({"q": "widget"}), shopper=Shopper(user_id=shop_data[0].pk)
    )
    assert first.personalized and first.hits
    assert "affinity" in first.hits[0].components  # the model answered this search
    assert loads == [active_version.pk]  # ... with the model loaded at start-up


def test_the_model_warm_up_prepares_a_made_up_shopper_the_search_warm_up_personalizes_for(
    active_version, loads
):
    assert model_warm_up().version_id == active_version.pk
    result = search_products(
        params=SearchParams.from_mapping({"q": warm_up_query()}),
        shopper=Shopper(session_id=WARM_UP_SESSION),
    )
    assert result.hits and "affinity" in result.hits[0].components
    assert loads == [active_version.pk]


def test_without_an_active_model_the_warm_up_loads_nothing_and_still_warms_the_search(
    shop_data, loads
):
    assert model_warm_up() is None
    timings = web_process_warm_up()
    assert {"urls", "search"} <= set(timings)
    assert loads == []
    assert len(local_matches) >= 1


def test_a_broken_artifact_is_logged_and_the_shop_warms_up_without_a_model(
    shop_data, tmp_path, loads, caplog
):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("not json")
    ModelVersion.objects.create(artifact_path=str(broken), holdout_ndcg=0.5, is_active=True)
    serving.reset()

    with caplog.at_level(logging.ERROR):
        timings = web_process_warm_up()

    assert "search" in timings
    assert loads == []
    assert serving.active_model() is None
    assert "Cannot load model" in caplog.text


def test_the_warm_up_query_is_a_word_of_the_most_popular_product(shop_data):
    assert warm_up_query() == "Thing"
