"""Prune the event log once a day, at a quiet hour (UTC).

The entry is an ordinary django-celery-beat task: an operator may move or
pause it in the admin, and this migration leaves an existing entry as it is.
"""

from django.db import migrations
from django.utils import timezone

NAME = "notifications: prune the event log"


def _touch_beat(apps):
    # A running beat rereads its schedule only when this row's timestamp
    # moves. The real model's signals would move it; a migration's historical
    # models send none, so it is moved here.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def schedule_prune(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    PeriodicTask.objects.create(
        name=NAME,
        task="notifications.tasks.prune_event_log",
        crontab=nightly,
        queue="default",
        description="Deletes logged events older than EVENT_LOG_RETENTION_DAYS.",
    )
    _touch_beat(apps)


def unschedule_prune(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    deleted, _ = PeriodicTask.objects.filter(name=NAME).delete()
    if deleted:
        _touch_beat(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_prune, unschedule_prune)]
