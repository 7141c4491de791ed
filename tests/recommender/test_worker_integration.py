"""Through a real Redis broker and a real Celery worker (CI sets REDIS_URL).

On a machine without Redis these tests are skipped; the same paths run eagerly in
the other tests of tests/recommender/.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.utils import timezone

from recommender.models import ModelVersion, RefreshRun, TrainingRun, UserRecommendation
from recommender.serving import model as serving
from recommender.tasks import training_run_enqueue
from recommender.training.runs import training_run_create
from tests.recommender.conftest import TINY_MODEL, make_shop

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real broker)"),
]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def worker(transactional_db):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    app.control.purge()
    try:
        with start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=["celery", "training"],
            shutdown_timeout=30,
        ):
            yield app
    finally:
        app.conf.task_always_eager = True


def test_training_refresh_and_real_time_update_through_a_worker(worker, client):
    users = make_shop()
    serving.reset()
    run = training_run_create(parameters=TINY_MODEL)
    training_run_enqueue(run=run)  # autocommit: sent at once
    wait_for(lambda: TrainingRun.objects.get(pk=run.pk).is_finished, 180, "the training run")
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.celery_task_id
    version = ModelVersion.objects.get(is_active=True)
    refresh = wait_for(
        lambda: RefreshRun.objects.filter(finished_at__isnull=False).first(),
        120,
        "the top-K refresh",
    )
    assert refresh.users == len(users) and refresh.model_version == version

    user = users[0]
    before = UserRecommendation.objects.get(user=user)
    target = before.items[0][0]
    client.force_login(user)
    started = time.monotonic()
    assert client.get(f"/products/{target}/").status_code == 200
    wait_for(
        lambda: UserRecommendation.objects.get(user=user).computed_at > before.computed_at,
        30,
        "the shopper's refresh",
    )
    latency = time.monotonic() - started
    assert target not in [row[0] for row in UserRecommendation.objects.get(user=user).items]
    assert latency < 10  # the benchmark (bench/freshness.py) measures the real p95


def test_a_second_run_waits_for_the_first(worker):
    make_shop()
    blocker = TrainingRun.objects.create(
        status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    run = training_run_create(parameters=TINY_MODEL)
    training_run_enqueue(run=run)
    time.sleep(2)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.QUEUED  # retried later, not run in parallel
    blocker.delete()
