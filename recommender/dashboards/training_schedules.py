"""The periodic tasks (django-celery-beat) and whether the scheduler is running.

celery beat stamps a task's ``last_run_at`` each time it sends it. A task that has
missed two runs in a row (counted from its last run, or from when it was created or
last edited if it never ran) is overdue: beat is probably not running. One query over
the small PeriodicTask table with its schedules joined."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

# A run sent a little late is not yet overdue.
GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class ScheduleRow:
    name: str
    task: str
    schedule: str
    enabled: bool
    last_run_at: datetime | None
    total_run_count: int
    overdue_since: datetime | None  # when its second missed run was due

    @property
    def overdue(self) -> bool:
        return self.overdue_since is not None


def _schedule_text(task: PeriodicTask) -> str:
    if task.crontab is not None:
        c = task.crontab
        return f"cron {c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week} ({c.timezone})"
    if task.interval is not None:
        return str(task.interval)
    if task.clocked is not None:
        return f"once at {task.clocked.clocked_time:%Y-%m-%d %H:%M} UTC"
    if task.solar is not None:
        return str(task.solar)
    return "no schedule"


def _next_run(task: PeriodicTask, after: datetime) -> datetime | None:
    """When the task is due next after ``after`` (None: a schedule not checked here)."""
    if task.interval is not None:
        return after + timedelta(**{task.interval.period: task.interval.every})
    if task.crontab is not None:
        start, delta, _ = task.crontab.schedule.remaining_delta(after)
        return start + delta
    return None


def _overdue_since(task: PeriodicTask, now: datetime) -> datetime | None:
    """When the second run missed since the last one (or since the task was created or
    edited) was due, if that is past; None when on time, disabled or not checked."""
    if not task.enabled or (task.one_off and task.total_run_count):
        return None
    reference = task.last_run_at or task.date_changed
    if task.start_time and task.start_time > reference:
        reference = task.start_time
    first = _next_run(task, reference)
    second = _next_run(task, first) if first else None
    if second is None or now <= second + GRACE:
        return None
    return second


def periodic_tasks_status(*, now: datetime | None = None) -> list[ScheduleRow]:
    """Every periodic task with its schedule, last run, and when it became overdue."""
    now = now or timezone.now()
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
    return [
        ScheduleRow(
            name=task.name,
            task=task.task,
            schedule=_schedule_text(task),
            enabled=task.enabled,
            last_run_at=task.last_run_at,
            total_run_count=task.total_run_count,
            overdue_since=_overdue_since(task, now),
        )
        for task in tasks.order_by("name")
    ]
