"""Model versions: activation refuses broken artifacts, activate-if-better, rollback."""

from __future__ import annotations

import shutil

import pytest

from recommender.models import ModelVersion
from recommender.serving.model import ArtifactError, active_model
from recommender.serving.recommendations import recommendations_for_user
from recommender.training.runs import training_run_create, training_run_execute
from recommender.training.versions import model_version_activate, model_version_rollback
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db


def test_a_corrupted_artifact_is_refused_and_serving_keeps_the_previous_version(
    active_version, shop_data, tmp_path
):
    assert active_model().version_id == active_version.pk
    broken_dir = tmp_path / "broken"
    shutil.copytree(active_version.artifact_path, broken_dir)
    for file in broken_dir.iterdir():
        if file.is_file():
            file.write_bytes(b"not a model")
    broken = ModelVersion.objects.create(artifact_path=str(broken_dir), holdout_ndcg=0.9)
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        model_version_activate(version=broken)
    broken.refresh_from_db()
    assert "cannot be loaded" in broken.refused_reason
    assert ModelVersion.objects.get(is_active=True) == active_version
    assert recommendations_for_user(user_id=shop_data[0].pk, limit=3)


def test_a_missing_artifact_is_refused(active_version, shop_data):
    missing = ModelVersion.objects.create(artifact_path="/nonexistent/model", holdout_ndcg=0.9)
    with pytest.raises(ArtifactError, match="does not exist"):
        model_version_activate(version=missing)
    assert ModelVersion.objects.get(is_active=True) == active_version


def test_activation_and_rollback_reach_the_serving_process_without_restart(
    active_version, newer_version, shop_data, django_capture_on_commit_callbacks
):
    assert active_model().version_id == active_version.pk
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=newer_version)
    assert active_model().version_id == newer_version.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert model_version_rollback() == active_version
    assert active_model().version_id == active_version.pk


def test_retrain_activates_only_if_it_beats_the_active_version(active_version, shop_data):
    # The tiny shop's cycle is learnt perfectly (the served transitions score 1.0): only a
    # perfect active version cannot be beaten.
    active_version.holdout_ndcg = 1.0
    active_version.save()
    run = training_run_create(parameters=TINY_MODEL)
    version = training_run_execute(run_id=run.pk)
    version.refresh_from_db()
    assert not version.is_active
    assert ModelVersion.objects.get(is_active=True) == active_version
