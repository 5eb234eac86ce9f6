"""The service as separate processes, for tests that drive a real browser.

daphne serves the page and the websocket, and a Celery worker runs the runs
that run-now queues. Both read the test database and the session's Redis, so
what a test writes (in a transactional test, committed at once) is what they
see, and what the worker broadcasts reaches the browser through daphne.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings

from flow_api.embedded_redis import free_port
from tests.processes import database_url

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 30.0
ASGI_APP = "flow_api.asgi:application"
WORKER_OPTIONS = [
    *("-Q", "default,overview_analysis", "--concurrency", "1", "-l", "info"),
    # A lone worker has no peers to synchronise with at start.
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
]


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flow_api.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "OVERVIEW_ANALYZER": "rules",
        "PYTHONUNBUFFERED": "1",
    }


class Process:
    """A child process whose output goes to a file, shown when it fails."""

    def __init__(
        self,
        name: str,
        command: list[str],
        log: Path,
        ready: Callable[["Process"], bool],
    ) -> None:
        self.name = name
        self.log = log
        self.ready = ready
        self._file = log.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=environment(),
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    def terminate(self) -> None:
        """Ask the process to stop; ``stop`` then waits for it."""
        if self.process.poll() is None:
            self.process.terminate()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self) -> None:
        """Wait until the process is ready; stop it and fail if it is not soon."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.ready(self):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not start; its output:\n{self.output()[-4000:]}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        self.terminate()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._file.close()


def stop(*processes: Process) -> None:
    # The worker takes a few seconds to shut down warmly; the others need not
    # wait for it.
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def web(log_dir: Path) -> tuple[Process, str]:
    """Start daphne on a free port; the process and the site's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = Process(
        "daphne",
        [str(BIN / "daphne"), *("-b", "127.0.0.1", "-p", str(port)), ASGI_APP],
        log_dir / "daphne.log",
        ready=lambda _: _answers(f"{url}/accounts/login/"),
    )
    return process, url


def worker(log_dir: Path) -> Process:
    # Messages left in the queues by earlier tests name users of the test
    # database that no longer exist, or worse, that exist again.
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("default", "overview_analysis")
    client.close()
    return Process(
        "celery worker",
        [str(BIN / "celery"), "-A", "flow_api", "worker", *WORKER_OPTIONS],
        log_dir / "worker.log",
        ready=lambda process: " ready." in process.output(),
    )


def forget_run_now_limits() -> None:
    """Clear the run-now throttle and queue marks that the service keeps in
    Redis: user ids repeat from one test database to the next."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for pattern in ("*throttle_run_now_*", "overview:run-now:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()
