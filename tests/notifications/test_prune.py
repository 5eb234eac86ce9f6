"""Pruning the event log, and the beat entry that does it daily."""

import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from notifications.models import Event
from notifications.tasks import prune_event_log

pytestmark = pytest.mark.django_db


def logged(user, days_ago):
    created_at = timezone.now() - datetime.timedelta(days=days_ago)
    return Event.objects.create(user=user, event="notification", created_at=created_at)


def test_it_deletes_the_events_older_than_the_retention(alice, settings):
    settings.EVENT_LOG_RETENTION_DAYS = 7
    logged(alice, days_ago=8)
    kept = logged(alice, days_ago=6)

    deleted = prune_event_log()

    assert deleted == 1
    assert list(Event.objects.all()) == [kept]


def test_it_deletes_every_old_event_however_many_batches_it_takes(alice, bob):
    for user in (alice, bob, alice, bob, alice):
        logged(user, days_ago=30)

    deleted = prune_event_log(batch_size=2)

    assert deleted == 5
    assert not Event.objects.exists()


def test_the_beat_prunes_once_a_day_on_the_default_queue():
    entry = PeriodicTask.objects.get(name="notifications: prune the event log")

    assert entry.task == prune_event_log.name
    assert entry.queue == "default"
    assert entry.enabled
    assert entry.crontab is not None
    assert (entry.crontab.minute, entry.crontab.hour) == ("30", "3")
    assert entry.crontab.day_of_month == entry.crontab.day_of_week == "*"
