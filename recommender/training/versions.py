"""Model versions: registering a trained model, activating one (atomically, refusing a
broken artifact), activating only if better, and rolling back; a version's settings as
staff read them."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.ml import ModelConfig
from recommender.models import ModelVersion, TrainingRun
from recommender.serving.model import ArtifactError, announce_active, load_artifact
from recommender.signals import model_activated

if TYPE_CHECKING:
    from recommender.training.pipeline import TrainResult

logger = logging.getLogger(__name__)

# A retrain replaces the active version only when its holdout NDCG@10 is at least this
# much better (relative), so noise does not flip versions back and forth.
MIN_IMPROVEMENT = 0.0


def model_version_register(*, run: TrainingRun, result: TrainResult) -> ModelVersion:
    """Save the trained model under MODEL_ROOT and record it as a version of ``run``."""
    version_dir = Path(settings.MODEL_ROOT) / f"run-{run.pk}-{timezone.now():%Y%m%d%H%M%S}"
    result.model.save(version_dir)
    return ModelVersion.objects.create(
        run=run,
        artifact_path=str(version_dir),
        config=result.config,
        metrics=result.metrics,
        holdout_ndcg=result.metrics["model"]["ndcg@10"],
        event_count=result.event_count,
        user_count=result.user_count,
        item_count=result.item_count,
        data_cutoff=result.cutoff,
        device=result.device,
        created_by=run.requested_by,
    )


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one served, atomically; refuses a broken artifact.

    Raises ArtifactError (and records the reason on the version) when the artifact is
    missing or does not load: the previous version stays active. Once committed, every
    process is told (and ``model_activated`` is sent: the receivers refresh the top-K).
    """
    try:
        load_artifact(version.artifact_path)
    except ArtifactError as exc:
        ModelVersion.objects.filter(pk=version.pk).update(refused_reason=str(exc))
        raise
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            is_active=True, activated_at=timezone.now(), refused_reason=""
        )
    transaction.on_commit(lambda: announce_active(version.pk))
    version.refresh_from_db()
    transaction.on_commit(
        lambda: model_activated.send(sender=ModelVersion, version_id=version.pk), robust=True
    )
    return version


def model_version_activate_if_better(*, version: ModelVersion, force: bool = False) -> bool:
    """Activate a new version if it beats the active one on the holdout (or none is active)."""
    active = ModelVersion.objects.filter(is_active=True).first()
    if not (force or _beats(version, active)):
        logger.info(
            "Model v%s (%.4f) does not beat the active v%s (%.4f); not activated",
            version.pk,
            version.holdout_ndcg or 0,
            active.pk,
            active.holdout_ndcg or 0,
        )
        return False
    try:
        model_version_activate(version=version)
    except ArtifactError:
        logger.exception("Model v%s refused", version.pk)
        return False
    return True


def _beats(version: ModelVersion, active: ModelVersion | None) -> bool:
    if active is None:
        return True
    if version.holdout_ndcg is None:
        return False
    return active.holdout_ndcg is None or version.holdout_ndcg > active.holdout_ndcg * (
        1 + MIN_IMPROVEMENT
    )


def model_version_rollback_target() -> ModelVersion | None:
    """The version a rollback would activate: the most recent one created before the
    active one (with none active, the newest); None when there is none."""
    active = ModelVersion.objects.filter(is_active=True).first()
    return (
        ModelVersion.objects.exclude(pk=getattr(active, "pk", None))
        .filter(created_at__lte=active.created_at if active else timezone.now())
        .order_by("-created_at", "-pk")
        .first()
    )


def model_version_rollback() -> ModelVersion | None:
    """Activate the most recent version before the active one (None: there is none)."""
    previous = model_version_rollback_target()
    if previous is None:
        return None
    return model_version_activate(version=previous)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of a version's config, beside the current default."""

    name: str
    value: str
    default: str
    is_default: bool
    description: str


def config_table(config: dict) -> list[Setting]:
    """A version's config (ModelConfig.to_dict(), as kept) as rows staff can read, by
    name; a setting the current ModelConfig no longer has shows no default."""
    defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    descriptions = _setting_descriptions()
    return [
        Setting(
            name=name,
            value=setting_text(value),
            default=setting_text(defaults[name]) if name in defaults else "-",
            is_default=name in defaults and defaults[name] == value,
            description=descriptions.get(name, ""),
        )
        for name, value in sorted(config.items())
    ]


def setting_text(value) -> str:
    """A setting as staff read it (lists and objects as compact JSON)."""
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


@functools.cache
def _setting_descriptions() -> dict[str, str]:
    """Each setting's entry under "Attributes:" in ModelConfig's docstring (one source
    for the code's readers and the admin's)."""
    doc = (inspect.getdoc(ModelConfig) or "").split("Attributes:", 1)[-1]
    entries: dict[str, str] = {}
    names: list[str] = []
    for line in doc.splitlines():
        entry = re.match(r"^    ([\w /]+): (.*)$", line)
        if entry:
            names = [n.strip() for n in entry[1].split("/")]
            for name in names:
                entries[name] = entry[2]
        elif names and line.startswith("        "):
            for name in names:
                entries[name] += " " + line.strip()
    return entries
