"""What the code under test sent to the broker, read from Redis itself.

Tests look at the queue a worker would read rather than replacing Celery, so
what they check is what a worker would receive. Each test starts from an
empty queue and no run-now marks; user ids repeat from test to test.
"""

import base64
import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from overview.schedule import RUN_NOW_PREFIX


@dataclass(frozen=True)
class Sent:
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    expires: datetime.datetime | None


class Queue:
    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.name = name

    def sent(self) -> list[Sent]:
        """The messages waiting in the queue, oldest first."""
        # Kombu pushes on the left and workers pop from the right.
        return [_read(raw) for raw in reversed(self.client.lrange(self.name, 0, -1))]

    def users(self) -> list[int]:
        return [int(message.args[0]) for message in self.sent()]

    def clear(self) -> None:
        self.client.delete(self.name)
        for key in self.client.scan_iter(f"{RUN_NOW_PREFIX}*"):
            self.client.delete(key)


def _read(raw: bytes | str) -> Sent:
    message = json.loads(raw)
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    expires = message["headers"].get("expires")
    return Sent(
        task=message["headers"]["task"],
        args=args,
        kwargs=kwargs,
        expires=datetime.datetime.fromisoformat(expires) if expires else None,
    )


@contextmanager
def watched(name: str) -> Iterator[Queue]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue = Queue(client, name)
    queue.clear()
    try:
        yield queue
    finally:
        queue.clear()
        client.close()
