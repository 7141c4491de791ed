"""Experiments for tests, made through the services (as staff make them)."""

from __future__ import annotations

from datetime import timedelta

from shop.experiments.services import ArmSpec, experiment_create, experiment_start
from shop.models import Experiment

SEARCH_ARMS = (
    ("control", 50, {"search_order": "personalized"}),
    ("lexical", 50, {"search_order": "lexical"}),
)


def experiment_made(
    *,
    name: str = "Order test",
    surface: str = "search",
    arms=SEARCH_ARMS,
    start: bool = True,
    **plan,
) -> Experiment:
    experiment = experiment_create(
        name=name,
        surface=surface,
        arms=[ArmSpec(arm_name, share, variant) for arm_name, share, variant in arms],
        **plan,
    )
    if start:
        experiment_start(experiment=experiment)
    experiment.refresh_from_db()
    return experiment


def started_ago(experiment: Experiment, delta: timedelta) -> Experiment:
    """The experiment as if started ``delta`` ago (its exposures may be that old)."""
    Experiment.objects.filter(pk=experiment.pk).update(started_at=experiment.started_at - delta)
    experiment.refresh_from_db()
    return experiment
