"""Popularity recomputed from the event log (shop.popularity): decayed distinct-shopper
figures replace the per-event counter, a ``trending`` figure joins it, and the refresh
is scheduled every 10 minutes (editable in the admin under Periodic tasks). Until the
first refresh, ``popularity`` keeps the old counter's value."""

from django.db import migrations, models

NAME = "shop: refresh product popularity"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "shop.tasks.popularity_refresh", "interval": every}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0008_orders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="popularity",
            field=models.FloatField(db_index=True, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="product",
            name="trending",
            field=models.FloatField(db_index=True, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="rollupstate",
            name="anchor_day",
            field=models.DateField(
                blank=True,
                help_text="The newest event's day when it last ran (popularity).",
                null=True,
            ),
        ),
        migrations.RunPython(schedule, unschedule),
    ]
