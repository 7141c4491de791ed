"""The recommender's part in the shop's A/B experiments (shop.experiments): it lists its
model versions for the arms staff set up, and activates a model version that wins.

Imported when the app is ready (recommender.apps): importing it registers both.
"""

from __future__ import annotations

from django.dispatch import receiver

from recommender.models import ModelVersion
from recommender.training.versions import model_version_activate
from shop.experiments.variants import model_versions_provider_set
from shop.models import ExperimentSurface
from shop.signals import experiment_winner_declared

# The newest versions offered to an experiment's arms.
VERSIONS_OFFERED = 50


def model_version_choices() -> list[tuple[int, str]]:
    """(id, label) of the newest model versions, the active one marked."""
    versions = ModelVersion.objects.order_by("-created_at", "-pk")[:VERSIONS_OFFERED]
    return [(version.pk, _label(version)) for version in versions]


def _label(version: ModelVersion) -> str:
    ndcg = f", holdout NDCG@10 {version.holdout_ndcg:.4f}" if version.holdout_ndcg else ""
    active = " (active)" if version.is_active else ""
    return f"model v{version.pk}{active}, {version.created_at:%Y-%m-%d}{ndcg}"


@receiver(experiment_winner_declared, dispatch_uid="recommender.experiment_winner")
def activate_winning_version(sender, surface: str, variant: dict, **kwargs) -> str | None:
    """A winning arm's model version becomes the active one (its artifact checked first:
    a broken one raises ArtifactError, which undoes the declaration)."""
    if surface != ExperimentSurface.RECOMMENDATIONS:
        return None
    version_id = variant.get("model_version")
    if version_id is None:
        return "The active model stays active."
    version = ModelVersion.objects.get(pk=version_id)
    if version.is_active:
        return f"Model v{version.pk} is already active."
    model_version_activate(version=version)
    return f"Model v{version.pk} is now active."


# Serving a version to shoppers (an arm) or activating it (a winner) takes the same
# permission as activating it from the models dashboard.
model_versions_provider_set(model_version_choices, permission="recommender.change_modelversion")
