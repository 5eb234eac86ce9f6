"""The schedule end to end, through real Celery worker processes.

The workers share this session's database (a file for SQLite, the test
database for PostgreSQL) and Redis server, each test on a Redis database of
its own so that nothing one test left queued reaches another. The tests
commit what they write, since the workers read it from other processes.
"""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from flow_api.celery import app
from notifications.models import Notification
from overview import service
from overview.models import OverviewRun, OverviewWorkerState
from overview.tasks import dispatch_due, run_overview_task
from tests import factories
from tests.processes import database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CELERY = Path(sys.executable).with_name("celery")
ROOT = Path(settings.BASE_DIR)
# Databases 0 and 1 are left to the rest of the session.
REDIS_DATABASES = itertools.count(10)


@pytest.fixture
def broker_url() -> Iterator[str]:
    parts = urlsplit(settings.REDIS_URL)
    url = urlunsplit(parts._replace(path=f"/{next(REDIS_DATABASES)}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


class Workers:
    """Starts Celery workers for one test and kills whatever is left of them."""

    def __init__(self, broker_url: str, logs: Path) -> None:
        self.broker_url = broker_url
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **environment: Any) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.broker_url,
            "OVERVIEW_ANALYZER": "rules",
            **{name: str(value) for name, value in environment.items()},
        }
        number = len(self.processes) + 1
        log = (self.logs / f"worker-{number}.log").open("wb")
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "flow_api",
                "worker",
                "-Q",
                "default,overview_analysis",
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--hostname",
                f"e2e-{number}-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A group of its own, so the pool's processes die with the worker.
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)

    def output(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.logs.glob("worker-*.log"))
        )


@pytest.fixture
def workers(transactional_db, broker_url, tmp_path) -> Iterator[Workers]:
    # Asking for transactional_db makes the workers die before the database is
    # emptied after the test, never while they still use it.
    workers = Workers(broker_url, tmp_path)
    try:
        yield workers
    finally:
        workers.kill_all()


def send(task: Any, broker_url: str, *args: Any) -> None:
    with app.connection_for_write(broker_url) as broker:
        task.apply_async(args, connection=broker)


def wait_for(
    condition: Callable[[], bool], what: str, workers: Workers, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Gave up waiting for {what}.\n{workers.output()}")
        time.sleep(0.1)


def runs(user: Any) -> list[str]:
    return sorted(
        OverviewRun.objects.filter(user=user).values_list("outcome", flat=True)
    )


def test_the_beat_message_leads_to_a_run_and_its_notification(
    alice, workers, broker_url
):
    state = service.enable(alice)
    factories.deal(alice, title="Globex fleet", value=Decimal("75000"))
    OverviewWorkerState.objects.filter(pk=state.pk).update(next_run_at=timezone.now())
    workers.start()

    send(dispatch_due, broker_url)

    wait_for(
        lambda: Notification.objects.filter(user=alice).exists(),
        "the run's notification",
        workers,
    )
    run = OverviewRun.objects.get(user=alice)
    assert (run.outcome, run.trigger, run.analyzer) == (
        "succeeded",
        "schedule",
        "rules",
    )
    assert Notification.objects.get(user=alice).title == "New large deal: Globex fleet"


ANALYSIS = {
    "forecast_impact": {"should_update": True, "reason": "A large deal arrived."},
    "notifications": [
        {
            "type": "deal_update",
            "priority": "high",
            "title": "Globex fleet is worth a call",
            "message": "A 75,000 deal entered the pipeline.",
        }
    ],
}
LEASE_SECONDS = 3
VISIBILITY_TIMEOUT = 5


def test_a_run_whose_worker_is_killed_completes_once_on_another(
    alice, workers, broker_url, fake_ollama
):
    # The first answer is slow enough for the worker to be killed while it
    # waits; the second is for the run that takes over.
    fake_ollama.reply_json(ANALYSIS, delay=60)
    fake_ollama.reply_json(ANALYSIS, delay=0.5)
    service.enable(alice)
    factories.deal(alice, title="Globex fleet", value=Decimal("75000"))
    slow_worker = {
        "OVERVIEW_ANALYZER": "ollama",
        "OLLAMA_HOST": fake_ollama.url,
        "OVERVIEW_LEASE_SECONDS": LEASE_SECONDS,
        "CELERY_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT,
    }
    send(run_overview_task, broker_url, alice.pk)
    first = workers.start(**slow_worker)

    wait_for(lambda: len(fake_ollama.chats) == 1, "the model to be asked", workers)
    workers.kill(first)
    killed_at = time.monotonic()
    assert runs(alice) == ["running"]

    # Redis hands the unacknowledged message out again once the visibility
    # timeout has passed; a worker that starts later looks for it at once.
    time.sleep(max(0, killed_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
    workers.start(**slow_worker)

    wait_for(
        lambda: "succeeded" in runs(alice), "the run to complete elsewhere", workers
    )
    time.sleep(1)
    assert runs(alice) == ["abandoned", "succeeded"]
    assert len(fake_ollama.chats) == 2
    (notification,) = Notification.objects.filter(user=alice)
    assert notification.title == "Globex fleet is worth a call"
