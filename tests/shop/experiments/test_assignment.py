"""Assignment: a deterministic hash of the salt and the shopper into 10,000 buckets, cut
by the arms' shares; one serving experiment per surface."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import IntegrityError

from shop.experiments.assignment import (
    BUCKETS,
    arm_bounds,
    experiment_assignment,
    serving_config,
    shopper_bucket,
    shopper_key,
)
from shop.experiments.services import experiment_stop
from shop.models import Experiment, ExperimentStatus
from shop.shoppers import Shopper
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db


def test_shopper_keys_name_the_user_first_then_the_session():
    assert shopper_key(Shopper(user_id=7, session_id="abc")) == "u:7"
    assert shopper_key(Shopper(session_id="abc")) == "s:abc"
    assert shopper_key(Shopper()) == ""


def test_buckets_are_deterministic_uniform_and_salted():
    assert shopper_bucket("salt", "u:1") == shopper_bucket("salt", "u:1")
    buckets = [shopper_bucket("salt", f"u:{n}") for n in range(20_000)]
    assert all(0 <= b < BUCKETS for b in buckets)
    low = sum(b < BUCKETS // 2 for b in buckets)
    assert abs(low - 10_000) < 4 * 71  # binomial sd of 20,000 halves is about 71
    other = [shopper_bucket("pepper", f"u:{n}") for n in range(1000)]
    assert other != buckets[:1000]


def test_arm_bounds_follow_the_cumulative_shares():
    assert arm_bounds([50, 50]) == [5000, 10_000]
    assert arm_bounds([10, 30, 60]) == [1000, 4000, 10_000]


def test_shoppers_split_by_the_arms_shares_and_keep_their_arm():
    experiment = experiment_made(
        arms=(
            ("control", 80, {"search_order": "personalized"}),
            ("lexical", 20, {"search_order": "lexical"}),
        )
    )
    arms = Counter(
        experiment_assignment(surface="search", shopper=Shopper(user_id=n)).arm_name
        for n in range(5000)
    )
    assert abs(arms["lexical"] - 1000) < 4 * 29  # sd of 5,000 draws at 20%: about 28
    again = experiment_assignment(surface="search", shopper=Shopper(user_id=42))
    assert again == experiment_assignment(surface="search", shopper=Shopper(user_id=42))
    assert again.experiment_id == experiment.pk and again.log_exposure


def test_nobody_is_assigned_without_an_experiment_an_id_or_personalization():
    assert experiment_assignment(surface="search", shopper=Shopper(user_id=1)) is None
    experiment_made()
    assert experiment_assignment(surface="search", shopper=Shopper()) is None
    opted_out = Shopper(user_id=1, personalize=False)
    assert experiment_assignment(surface="search", shopper=opted_out) is None
    assert experiment_assignment(surface="recommendations", shopper=Shopper(user_id=1)) is None


def test_only_one_experiment_runs_per_surface():
    experiment_made(name="first")
    second = experiment_made(name="second", start=False)
    with pytest.raises(IntegrityError):
        Experiment.objects.filter(pk=second.pk).update(status=ExperimentStatus.RUNNING)


def test_a_stopped_experiment_assigns_nobody_and_the_change_is_seen_at_once():
    experiment = experiment_made()
    assert serving_config("search").experiment_id == experiment.pk
    experiment_stop(experiment=experiment)
    assert serving_config("search") is None
    assert experiment_assignment(surface="search", shopper=Shopper(user_id=1)) is None
