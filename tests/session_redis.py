"""Gives the test session a Redis server before Django reads its settings.

The settings take ``REDIS_URL`` once, at import, for the broker and the channel
layer, and pytest-django imports them while pytest loads the first conftest
files: too early for a conftest to change the variable. This module is loaded
with ``-p`` (see pyproject.toml), so its hook runs before pytest-django's. When
``REDIS_URL`` is set, that server is used; otherwise an embedded one is started
on a free port for the session and stopped when the session ends.
"""

import atexit
import os
import subprocess

import pytest

from flow_api import embedded_redis

SERVER = pytest.StashKey[subprocess.Popen[bytes]]()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    if os.environ.get("REDIS_URL"):
        return

    port = embedded_redis.free_port()
    server = embedded_redis.start(port)
    early_config.stash[SERVER] = server
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    # pytest skips its unconfigure hooks when start-up fails after this point,
    # for instance on a conftest that does not import; the server must not
    # outlive the session then either.
    atexit.register(embedded_redis.stop, server)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER, None)
    if server is not None:
        embedded_redis.stop(server)
        del os.environ["REDIS_URL"]
