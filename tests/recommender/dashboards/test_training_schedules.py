"""Periodic tasks on the training page: a task that missed two runs in a row is
overdue, and the page then says celery beat is probably not running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from recommender.dashboards.training_schedules import periodic_tasks_status
from tests.factories import UserFactory
from tests.recommender.api.helpers import client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _only_these_tasks():
    PeriodicTask.objects.all().delete()  # the migrations' schedules


def every_ten_minutes(name: str, **fields) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    task = PeriodicTask.objects.create(
        name=name, task="shop.tasks.rollups_refresh", interval=interval, **fields
    )
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=NOW - timedelta(days=30))
    return task


def hourly_at_15(name: str, **fields) -> PeriodicTask:
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    task = PeriodicTask.objects.create(
        name=name, task="recommender.tasks.refresh_recommendations", crontab=crontab, **fields
    )
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=NOW - timedelta(days=30))
    return task


def states() -> dict[str, object]:
    return {row.name: row.overdue_since for row in periodic_tasks_status(now=NOW)}


def test_an_interval_task_is_overdue_after_missing_two_runs():
    every_ten_minutes("on time", last_run_at=NOW - timedelta(minutes=15))
    every_ten_minutes("late", last_run_at=NOW - timedelta(minutes=25))
    every_ten_minutes("off", last_run_at=NOW - timedelta(days=2), enabled=False)

    assert states() == {"late": NOW - timedelta(minutes=5), "on time": None, "off": None}


def test_a_cron_task_is_overdue_after_missing_two_of_its_times():
    hourly_at_15("ran at 11:15", last_run_at=datetime(2025, 3, 10, 11, 15, tzinfo=UTC))
    hourly_at_15("ran at 10:15", last_run_at=datetime(2025, 3, 10, 10, 15, tzinfo=UTC))
    hourly_at_15("ran at 9:15", last_run_at=datetime(2025, 3, 10, 9, 15, tzinfo=UTC))

    assert states() == {
        "ran at 11:15": None,
        "ran at 10:15": None,  # missed 11:15 only
        "ran at 9:15": datetime(2025, 3, 10, 11, 15, tzinfo=UTC),
    }


def test_a_task_that_never_ran_counts_from_when_it_was_created():
    hourly_at_15("never ran")
    fresh = hourly_at_15("never ran, just created")
    PeriodicTask.objects.filter(pk=fresh.pk).update(date_changed=NOW - timedelta(minutes=50))

    result = states()

    assert result["never ran"] is not None and result["never ran, just created"] is None


def test_the_page_lists_each_task_and_warns_that_beat_is_not_running():
    boss = client_for(UserFactory(username="boss", is_staff=True, is_superuser=True))
    every_ten_minutes("shop: rollups", last_run_at=None)
    html = boss.get(reverse("dashboards:training")).content.decode()

    assert "shop: rollups" in html and "every 10 minutes" in html
    assert 'id="beat-warning"' in html and "celery beat is probably not running" in html

    PeriodicTask.objects.update(last_run_at=datetime.now(tz=UTC))
    html = boss.get(reverse("dashboards:training")).content.decode()
    assert 'id="beat-warning"' not in html and "on time" in html
