"""Housekeeping of the event log.

The log only has to reach back as far as a browser may have been away and
still want to catch up; older events are deleted once a day (the beat entry
is added by a migration, and can be changed in the admin).
"""

import datetime
import logging

from django.conf import settings
from django.utils import timezone

from flow_api.celery import app
from flow_api.tasks import Task
from notifications.models import Event

logger = logging.getLogger(__name__)

PRUNE_BATCH_SIZE = 5000


@app.task(base=Task, name="notifications.tasks.prune_event_log", queue="default")
def prune_event_log(batch_size: int = PRUNE_BATCH_SIZE) -> int:
    """Delete the events older than EVENT_LOG_RETENTION_DAYS; the count."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.EVENT_LOG_RETENTION_DAYS)
    deleted = 0
    # One short delete per batch, each its own transaction, so that the
    # embedded SQLite setup's web server and worker never wait long for the
    # write lock behind a week's worth of deletions.
    while True:
        batch = list(
            Event.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            break
        deleted += Event.objects.filter(id__in=batch).delete()[0]
    logger.info("Pruned %d events logged before %s", deleted, cutoff.isoformat())
    return deleted
