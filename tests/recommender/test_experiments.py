"""The recommender in the shop's A/B experiments: an arm naming another model version
is served by that version (scored online, loaded once per process), the shopper is
counted when it serves, a broken version serves the active model instead, and
declaring a winning version activates it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from recommender import experiments as recommender_experiments
from recommender.models import ModelVersion, UserRecommendation
from recommender.serving import recommendations as serving_recommendations
from recommender.serving.recommendations import recommendations_for_user
from shop.experiments.assignment import experiment_assignment
from shop.experiments.services import (
    ExperimentError,
    experiment_declare_winner,
    experiment_start,
)
from shop.experiments.variants import model_version_choices
from shop.models import Exposure
from shop.shoppers import Shopper
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_experiment_models():
    serving_recommendations.experiment_models_forget()
    yield
    serving_recommendations.experiment_models_forget()


def model_experiment(version_id: int, *, start: bool = True):
    return experiment_made(
        start=start,
        name="Newer model",
        surface="recommendations",
        arms=(
            ("control", 50, {"model_version": None}),
            ("newer", 50, {"model_version": version_id}),
        ),
    )


def shopper_in(users, arm_name: str):
    for user in users:
        assignment = experiment_assignment(
            surface="recommendations", shopper=Shopper(user_id=user.pk)
        )
        if assignment.arm_name == arm_name:
            return user
    raise AssertionError(f"no shopper in {arm_name}")


def stored_top_k(user, version) -> None:
    """A refresh's stored list for the shopper (what the active model serves first)."""
    UserRecommendation.objects.update_or_create(
        user=user,
        defaults={
            "model_version": version,
            "items": [[p, 1.0, None] for p in range(900_000, 900_012)],
        },
    )


def test_the_recommender_lists_its_versions_for_the_arms(active_version, newer_version):
    assert recommender_experiments.model_version_choices  # registered on import
    choices = dict(model_version_choices())
    assert set(choices) == {active_version.pk, newer_version.pk}
    assert "(active)" in choices[active_version.pk]


def test_an_arm_with_another_version_is_scored_by_it_online(
    active_version, newer_version, shop_data
):
    experiment = model_experiment(newer_version.pk)
    control, newer = shopper_in(shop_data, "control"), shopper_in(shop_data, "newer")
    for user in (control, newer):
        stored_top_k(user, active_version)
    assert {r.source for r in recommendations_for_user(user_id=control.pk, limit=5)} == {"database"}
    served = recommendations_for_user(user_id=newer.pk, limit=5)
    assert served and {r.source for r in served} == {"online"}
    assert list(serving_recommendations._versions) == [newer_version.pk]
    arms = dict(Exposure.objects.filter(experiment=experiment).values_list("user_id", "arm__name"))
    assert arms == {control.pk: "control", newer.pk: "newer"}


def test_storefront_recommendations_count_the_shopper(
    active_version, newer_version, shop_data, client
):
    experiment = model_experiment(newer_version.pk)
    user = shop_data[3]
    client.force_login(user)
    assert client.get(reverse("shop:home")).status_code == 200
    exposure = Exposure.objects.get(experiment=experiment)
    assert exposure.shopper_key == f"u:{user.pk}"


def test_a_version_that_does_not_load_serves_the_active_model_and_counts_nobody(
    active_version, shop_data, tmp_path
):
    broken = ModelVersion.objects.create(artifact_path=str(tmp_path / "missing"))
    model_experiment(broken.pk)
    user = shopper_in(shop_data, "newer")
    stored_top_k(user, active_version)
    served = recommendations_for_user(user_id=user.pk, limit=5)
    assert served and {r.source for r in served} == {"database"}
    assert not Exposure.objects.exists()


def test_declaring_a_winning_version_activates_it(active_version, newer_version):
    experiment = model_experiment(newer_version.pk)
    newer = experiment.arms.get(name="newer")
    done = experiment_declare_winner(experiment=experiment, arm=newer, override_reason="A/B")
    newer_version.refresh_from_db()
    assert newer_version.is_active
    assert done == [f"Model v{newer_version.pk} is now active."]
    experiment.refresh_from_db()
    assert not experiment.serves_winner  # the active model is the winner now


def test_a_winner_whose_artifact_is_broken_is_refused(active_version, shop_data, tmp_path):
    broken = ModelVersion.objects.create(artifact_path=str(tmp_path / "missing"))
    experiment = model_experiment(broken.pk)
    with pytest.raises(ExperimentError, match="could not be made permanent"):
        experiment_declare_winner(
            experiment=experiment, arm=experiment.arms.get(name="newer"), override_reason="A/B"
        )
    experiment.refresh_from_db()
    active_version.refresh_from_db()
    assert experiment.winner is None and experiment.is_running and active_version.is_active


def _staff(*codenames: str):
    user = get_user_model().objects.create_user(
        username="-".join(codenames) or "nobody", password="pw", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)


def test_serving_or_activating_a_version_through_an_experiment_needs_the_model_permission(
    active_version, newer_version
):
    """Staff who may run experiments but not change model versions can neither start
    an experiment whose arm serves a version nor declare one the winner (which would
    activate it)."""
    experimenter = _staff("view_experiment", "add_experiment", "change_experiment")
    experiment = model_experiment(newer_version.pk, start=False)
    with pytest.raises(ExperimentError, match="permission to change model versions"):
        experiment_start(experiment=experiment, user=experimenter)
    experiment.refresh_from_db()
    assert experiment.is_draft
    experiment_start(experiment=experiment, user=_staff("change_modelversion"))
    newer = experiment.arms.get(name="newer")
    with pytest.raises(ExperimentError, match="permission to change model versions"):
        experiment_declare_winner(
            experiment=experiment, arm=newer, user=experimenter, override_reason="A/B"
        )
    newer_version.refresh_from_db()
    experiment.refresh_from_db()
    assert not newer_version.is_active and experiment.winner_id is None
    # The experimenter may still declare the control (it serves no other version).
    control = experiment.arms.get(name="control")
    experiment_declare_winner(
        experiment=experiment, arm=control, user=experimenter, override_reason="A/B"
    )
    experiment.refresh_from_db()
    assert experiment.winner_id == control.pk
