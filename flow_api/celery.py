"""The Celery app, configured from the Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")

app = Celery("flow_api")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each queue has an exchange and a routing key of its own name, so that a
# message sent to one queue can never be bound to the other.
app.conf.task_queues = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("default", "overview_analysis")
)
app.autodiscover_tasks()
