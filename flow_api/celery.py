"""The Celery app, configured from the Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")

app = Celery("flow_api")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("overview_analysis"))
app.autodiscover_tasks()
