"""Celery tasks (eager here; test_worker_integration.py runs a real worker)."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from recommender.models import SearchBlend
from recommender.search_blend import MIN_SEARCHES
from recommender.tasks import learn_search_blend
from tests.recommender.test_search_blend import log_searches


@pytest.mark.django_db
def test_the_click_log_is_learned_on_a_schedule(settings):
    task = PeriodicTask.objects.get(task="recommender.tasks.learn_search_blend")
    assert task.enabled and task.crontab is not None
    log_searches(MIN_SEARCHES, clicked_feature="popularity")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    blend_id = learn_search_blend.delay().get()
    blend = SearchBlend.objects.get(pk=blend_id)
    assert max(blend.weights, key=blend.weights.get) == "popularity"
