"""Training runs: one at a time, heartbeats and reaping, cancellation, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommender.models import ModelVersion, RefreshRun, TrainingRun, UserRecommendation
from recommender.training.runs import (
    RunProgress,
    TrainingBusy,
    training_run_create,
    training_run_execute,
    training_runs_reap_stale,
)
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db


def test_training_run_registers_activates_and_caches_everyones_top_k(
    shop_data, django_capture_on_commit_callbacks
):
    run = training_run_create(parameters=TINY_MODEL)
    with django_capture_on_commit_callbacks(execute=True):
        version = training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    version.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED and run.finished_at and run.device
    assert run.epoch >= 1 and run.log_tail
    assert version.is_active and version.event_count == 30 * 6 and version.user_count == 30
    assert set(version.metrics["baselines"]) == {"popularity", "item_transitions"}
    assert 0 <= version.metrics["model"]["ndcg@10"] <= 1
    # Activation refreshed every shopper's cached top-K.
    assert UserRecommendation.objects.filter(model_version=version).count() == 30
    refresh = RefreshRun.objects.get()
    assert refresh.users == 30 and refresh.users_per_second > 0


def test_a_second_run_is_refused_while_one_runs(shop_data):
    running = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    queued = training_run_create(parameters=TINY_MODEL)
    with pytest.raises(TrainingBusy, match=str(running.pk)):
        training_run_execute(run_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == TrainingRun.Status.QUEUED  # it waits; the task retries


def test_a_worker_killed_mid_training_ends_failed_and_keeps_the_active_version(
    active_version, shop_data
):
    dead = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert training_runs_reap_stale() == 1
    dead.refresh_from_db()
    assert dead.status == TrainingRun.Status.FAILED and "stopped reporting" in dead.error
    assert ModelVersion.objects.get(is_active=True) == active_version
    # The slot is free again: a new run can train.
    run = training_run_create(parameters={**TINY_MODEL, "activate": "never"})
    assert training_run_execute(run_id=run.pk) is not None


def test_cancelling_a_running_run_stops_it_without_a_version(shop_data, monkeypatch):
    run = training_run_create(parameters={**TINY_MODEL, "max_epochs": 50, "patience": 50})
    original = RunProgress.__call__

    def cancel_on_first_report(progress, report):
        TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)
        progress.saved_at = 0.0
        return original(progress, report)

    monkeypatch.setattr(RunProgress, "__call__", cancel_on_first_report)
    assert training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert not ModelVersion.objects.exists()


def test_a_failing_run_ends_failed_with_its_error():
    run = training_run_create(parameters=TINY_MODEL)  # no events at all
    with pytest.raises(Exception, match="events to learn from"):
        training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED and "events to learn from" in run.error
