"""The active model of a process: loaded once, swapped on activation, kept when a new one cannot load."""

from __future__ import annotations

import weakref

import pytest

from config.heap import heap_freeze_disable, heap_freeze_enable, heap_freeze_on
from recommender.models import ModelVersion
from recommender.serving import model as serving
from recommender.serving.recommendations import recommendations_for_user
from recommender.signals import model_loaded
from recommender.training.versions import model_version_activate

pytestmark = pytest.mark.django_db


def test_an_artifact_lost_after_activation_elsewhere_keeps_this_process_on_its_model(
    active_version, shop_data
):
    """Another process activated a version whose files this machine cannot read."""
    assert serving.active_model().version_id == active_version.pk
    lost = ModelVersion.objects.create(artifact_path="/nonexistent/lost-model", holdout_ndcg=0.6)
    ModelVersion.objects.filter(pk=active_version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=lost.pk).update(is_active=True)
    serving.announce_active(lost.pk)
    loaded = serving.active_model()
    assert loaded is not None and loaded.version_id == active_version.pk
    assert recommendations_for_user(user_id=shop_data[0].pk, limit=3)


def test_loading_a_model_is_announced_once_per_load(active_version):
    """The signal a web process freezes its heap on (config.heap)."""
    calls = []

    def record(sender, version_id, **kwargs):
        calls.append(version_id)

    model_loaded.connect(record)
    try:
        serving.reset()
        assert serving.active_model().version_id == active_version.pk
        assert serving.active_model().version_id == active_version.pk
    finally:
        model_loaded.disconnect(record)
    assert calls == [active_version.pk]  # once per load, not per request


def test_a_replaced_model_is_freed_when_the_new_one_is_frozen(
    active_version, newer_version, django_capture_on_commit_callbacks
):
    old = weakref.ref(serving.active_model().model)  # the model: cycles only gc frees
    heap_freeze_on(model_loaded)  # as config/wsgi.py does
    heap_freeze_enable()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            model_version_activate(version=newer_version)
        assert serving.active_model().version_id == newer_version.pk
        assert old() is None  # not kept alive (frozen) with the new model
    finally:
        heap_freeze_disable()
