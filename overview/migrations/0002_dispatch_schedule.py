"""The beat entry that queues due users' runs every minute.

It lives in django-celery-beat's tables, so an operator can change its
interval or pause it in the admin without a deploy.
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "overview: dispatch due users"


def add_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    _, created = PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "interval": every_minute,
            "task": "overview.tasks.dispatch_due",
            "queue": "default",
            "description": (
                "Queues one overview run for every enabled user whose next run is due."
            ),
        },
    )
    if created:
        _schedule_changed(apps)


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).delete()[0]:
        _schedule_changed(apps)


def _schedule_changed(apps):
    # A beat that is already running reloads its schedule when this stamp
    # moves; the model's own save() does that, but migrations use plain models.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("overview", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
