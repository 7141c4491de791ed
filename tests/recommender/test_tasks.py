"""Celery tasks (eager here; test_worker_integration.py runs a real worker). Without a
broker, training and a refresh started by staff run on a background thread: the page
that started them answers at once."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from recommender import tasks
from recommender.models import ModelVersion, RefreshRun, SearchBlend, TrainingRun
from recommender.search_blend import MIN_SEARCHES
from recommender.serving.refresh import refresh_run_end, refresh_run_queue
from recommender.tasks import learn_search_blend
from recommender.training import runs
from tests.factories import UserFactory
from tests.recommender.api.helpers import client_for
from tests.recommender.conftest import TINY_MODEL, make_shop
from tests.recommender.test_search_blend import log_searches

WAIT_SECONDS = 120


@pytest.mark.django_db
def test_the_click_log_is_learned_on_a_schedule(settings):
    task = PeriodicTask.objects.get(task="recommender.tasks.learn_search_blend")
    assert task.enabled and task.crontab is not None
    log_searches(MIN_SEARCHES, clicked_feature="popularity")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    blend_id = learn_search_blend.delay().get()
    blend = SearchBlend.objects.get(pk=blend_id)
    assert max(blend.weights, key=blend.weights.get) == "popularity"


@pytest.fixture
def gated_training(monkeypatch):
    """Training waits for ``gate`` before it starts, and notes the thread it runs on."""
    gate, threads = threading.Event(), []
    execute = runs.training_run_execute

    def gated(**kwargs):
        threads.append(threading.current_thread().name)
        assert gate.wait(WAIT_SECONDS)
        return execute(**kwargs)

    monkeypatch.setattr(runs, "training_run_execute", gated)
    yield gate, threads
    gate.set()
    tasks.background_wait(WAIT_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_start_page_answers_at_once_and_the_run_trains_behind(
    settings, gated_training
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate, threads = gated_training
    make_shop()
    boss = client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))
    parameters = {key: str(value) for key, value in TINY_MODEL.items()}

    response = boss.post(reverse("dashboards:training"), parameters)

    run = TrainingRun.objects.get()
    assert response.status_code == 302 and run.status == TrainingRun.Status.QUEUED
    gate.set()
    assert tasks.background_wait(WAIT_SECONDS)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert threads[0].startswith(tasks.BACKGROUND_THREAD_PREFIX)
    assert threads[0] != threading.current_thread().name
    assert ModelVersion.objects.get(run=run).is_active


@pytest.mark.django_db(transaction=True)
def test_the_admins_train_button_no_longer_trains_inside_the_request(settings, gated_training):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    gate, _ = gated_training
    boss = client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))

    response = boss.post(reverse("admin:recommender_trainingrun_start"))

    run = TrainingRun.objects.get()
    assert response["Location"] == reverse("dashboards:training-run", args=[run.pk])
    assert run.status == TrainingRun.Status.QUEUED
    gate.set()
    assert tasks.background_wait(WAIT_SECONDS)
    run.refresh_from_db()
    # With no events it failed, and says why; the page still opens.
    assert run.status == TrainingRun.Status.FAILED and "events to learn from" in run.error
    assert boss.get(response["Location"]).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refresh_started_by_staff_runs_behind_and_counts_its_chunks(settings, active_version):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    boss = client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))

    response = boss.post(reverse("dashboards:training-refresh-start"))

    refresh = RefreshRun.objects.get()
    assert response["Location"] == reverse("dashboards:training-refresh", args=[refresh.pk])
    assert tasks.background_wait(WAIT_SECONDS)
    refresh.refresh_from_db()
    assert refresh.status == RefreshRun.Status.SUCCEEDED and refresh.finished_at
    assert refresh.chunks_done == refresh.chunks > 0
    assert refresh.users == 30 and refresh.users_per_second > 0
    state = boss.get(reverse("dashboards:training-refresh-status", args=[refresh.pk])).json()
    assert state["progress"] == 1.0 and state["users"] == "30"


@pytest.mark.django_db
def test_a_refresh_cancelled_before_it_starts_writes_nothing(active_version):
    refresh = refresh_run_queue()
    refresh_run_end(refresh_id=refresh.pk)

    assert tasks.refresh_recommendations.apply(kwargs={"refresh_id": refresh.pk}).get() is None
    refresh.refresh_from_db()
    assert refresh.status == RefreshRun.Status.CANCELLED and refresh.users == 0


@pytest.mark.django_db
def test_a_chunk_of_a_cancelled_refresh_skips_its_shoppers(active_version):
    refresh = RefreshRun.objects.create(
        model_version=active_version, status=RefreshRun.Status.CANCELLED, chunks=1
    )

    written = tasks.refresh_chunk(active_version.pk, 1, 10**9, refresh.pk)

    assert written == 0
    refresh.refresh_from_db()
    assert refresh.chunks_done == 0
