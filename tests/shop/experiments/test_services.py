"""An experiment's life: drafts with valid arms, one running per surface, stop, and a
winner declared only when the test allows it (or with a recorded reason), made
permanent by the receivers of experiment_winner_declared."""

from __future__ import annotations

import pytest
from django.dispatch import receiver

from shop.experiments.report import experiment_report, winner_blockers
from shop.experiments.services import (
    ArmSpec,
    ExperimentError,
    arms_problems,
    experiment_declare_winner,
    experiment_start,
    experiment_stop,
    experiment_stop_serving_winner,
)
from shop.models import Experiment, ExperimentStatus, Exposure
from shop.signals import experiment_winner_declared
from tests.factories import UserFactory
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db

PERSONALIZED = {"search_order": "personalized"}
LEXICAL = {"search_order": "lexical"}


def with_results(experiment: Experiment, *, shoppers: int, clickers: dict[str, int]) -> None:
    """``shoppers`` exposed per arm, ``clickers[arm name]`` of whom clicked."""
    rows = []
    for arm in experiment.arms.all():
        for n in range(shoppers):
            rows.append(
                Exposure(
                    experiment=experiment,
                    arm=arm,
                    shopper_key=f"s:{arm.name}-{n}",
                    session_id=f"{arm.name}-{n}",
                    clicks=1 if n < clickers[arm.name] else 0,
                )
            )
    Exposure.objects.bulk_create(rows)


def test_arms_must_fit_the_surface_and_share_the_traffic():
    good = [ArmSpec("a", 50, PERSONALIZED), ArmSpec("b", 50, LEXICAL)]
    assert arms_problems(surface="search", arms=good) == []
    assert arms_problems(surface="search", arms=good[:1])
    assert arms_problems(surface="search", arms=[good[0], ArmSpec("b", 40, LEXICAL)])
    assert arms_problems(surface="search", arms=[good[0], ArmSpec("a", 50, LEXICAL)])
    assert arms_problems(surface="recommendations", arms=good)
    models = [ArmSpec("a", 50, {"model_version": None}), ArmSpec("b", 50, {"model_version": 3})]
    assert arms_problems(surface="recommendations", arms=models) == []
    with pytest.raises(ExperimentError, match="sum to 100"):
        experiment_made(arms=(("a", 60, PERSONALIZED), ("b", 60, LEXICAL)))


def test_a_draft_starts_once_and_only_one_runs_per_surface():
    first = experiment_made(name="first")
    assert first.is_running and first.started_at is not None
    with pytest.raises(ExperimentError, match="draft"):
        experiment_start(experiment=first)
    second = experiment_made(name="second", start=False)
    with pytest.raises(ExperimentError, match="Another experiment"):
        experiment_start(experiment=second)
    experiment_stop(experiment=first)
    assert experiment_start(experiment=second).is_running


def test_no_winner_before_the_planned_sample_is_reached_without_a_reason():
    experiment = experiment_made(baseline=0.10, minimum_detectable_effect=0.5)
    with_results(experiment, shoppers=50, clickers={"control": 5, "lexical": 10})
    lexical = experiment.arms.get(name="lexical")
    blockers = winner_blockers(experiment_report(experiment=experiment), lexical)
    assert any("planned" in b for b in blockers)
    with pytest.raises(ExperimentError, match="planned"):
        experiment_declare_winner(experiment=experiment, arm=lexical)
    assert Experiment.objects.get(pk=experiment.pk).winner is None


def test_a_significant_winner_past_the_planned_sample_is_declared_and_served():
    experiment = experiment_made(baseline=0.10, minimum_detectable_effect=0.5)
    report = experiment_report(experiment=experiment)
    assert report.required_per_arm == 686  # 10% -> 15% at alpha 0.05, power 0.8
    with_results(experiment, shoppers=700, clickers={"control": 70, "lexical": 140})
    lexical = experiment.arms.get(name="lexical")
    control = experiment.arms.get(name="control")
    report = experiment_report(experiment=experiment)
    assert winner_blockers(report, lexical) == []
    assert winner_blockers(report, control)  # a treatment is significantly better
    staff = UserFactory()
    experiment_declare_winner(experiment=experiment, arm=lexical, user=staff)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.STOPPED and experiment.winner == lexical
    assert experiment.serves_winner and experiment.winner_declared_by == staff
    assert experiment.winner_override_reason == ""
    with pytest.raises(ExperimentError, match="already"):
        experiment_declare_winner(experiment=experiment, arm=control, override_reason="x")


def test_an_override_is_recorded_with_its_reason():
    experiment = experiment_made()
    control = experiment.arms.get(name="control")
    experiment_declare_winner(
        experiment=experiment, arm=control, override_reason="  Lexical broke the app  "
    )
    experiment.refresh_from_db()
    assert experiment.winner == control
    assert experiment.winner_override_reason == "Lexical broke the app"


def test_a_new_search_experiment_takes_the_surface_from_a_served_winner():
    old = experiment_made(name="old")
    experiment_declare_winner(experiment=old, arm=old.arms.last(), override_reason="r")
    new = experiment_made(name="new")
    old.refresh_from_db()
    assert new.is_running and not old.serves_winner


def test_serving_a_winner_can_be_stopped():
    experiment = experiment_made()
    experiment_declare_winner(
        experiment=experiment, arm=experiment.arms.last(), override_reason="r"
    )
    assert not experiment_stop_serving_winner(experiment=experiment).serves_winner


def test_a_receiver_that_refuses_the_winner_undoes_the_declaration():
    @receiver(experiment_winner_declared, dispatch_uid="test.refuse")
    def refuse(sender, **kwargs):
        raise RuntimeError("artifact is broken")

    try:
        experiment = experiment_made()
        with pytest.raises(ExperimentError, match="artifact is broken"):
            experiment_declare_winner(
                experiment=experiment, arm=experiment.arms.last(), override_reason="r"
            )
    finally:
        experiment_winner_declared.disconnect(dispatch_uid="test.refuse")
    experiment.refresh_from_db()
    assert experiment.is_running and experiment.winner is None and not experiment.serves_winner


def test_the_receivers_say_what_they_did():
    @receiver(experiment_winner_declared, dispatch_uid="test.say")
    def say(sender, variant, **kwargs):
        return f"Now serving {variant['search_order']}."

    try:
        experiment = experiment_made()
        done = experiment_declare_winner(
            experiment=experiment, arm=experiment.arms.last(), override_reason="r"
        )
    finally:
        experiment_winner_declared.disconnect(dispatch_uid="test.say")
    assert done == ["Now serving lexical."]
