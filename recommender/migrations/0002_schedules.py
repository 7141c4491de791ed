"""Default schedules (editable in the admin under Periodic tasks): nightly retrain,
hourly refresh of the cached top-K, and reaping runs whose worker died."""

from django.db import migrations

SCHEDULES = [
    # name, task, crontab (minute, hour)
    ("recommender: nightly retrain", "recommender.tasks.nightly_retrain", ("0", "2")),
    ("recommender: hourly top-K refresh", "recommender.tasks.refresh_recommendations", ("15", "*")),
    ("recommender: reap dead training runs", "recommender.tasks.reap_stale_runs", ("*/5", "*")),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour) in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
