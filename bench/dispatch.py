"""How long the dispatcher's tick takes with 100,000 enabled users.

Creates 100,000 users with the worker enabled, 10,000 of them due, and prints
the time to claim the due users and to queue their runs, the time of a tick
with nobody due, and beside them the time to push as many messages of the same
size to Redis through a bare redis-py pipeline, measured in the same run.

    python bench/dispatch.py [--users 100000] [--due 10000]

The database is a throwaway: a SQLite file under var/, or, when DATABASE_URL
names a PostgreSQL server, a database of its own on that server, dropped at
the end. Redis is REDIS_URL's server with the database number --redis-db
(emptied before and after), or an embedded server when REDIS_URL is not set.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flow_api.settings")
# Each tick logs a line at info, which would bury the figures.
os.environ.setdefault("LOG_LEVEL", "WARNING")

BENCH_DATABASE = "flow_api_bench_dispatch"
SQLITE_FILE = ROOT / "var" / "bench-dispatch.sqlite3"
USERS_PER_INSERT = 5000


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Point DATABASE_URL at a database this run may fill and throw away."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        server = with_path(url, "/postgres")
        with psycopg.connect(server, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            db.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        os.environ["DATABASE_URL"] = with_path(url, f"/{BENCH_DATABASE}")
        try:
            yield "postgresql"
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(server, autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        return

    for leftover in SQLITE_FILE.parent.glob(SQLITE_FILE.name + "*"):
        leftover.unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
    try:
        yield "sqlite"
    finally:
        for leftover in SQLITE_FILE.parent.glob(SQLITE_FILE.name + "*"):
            leftover.unlink()


@contextmanager
def throwaway_redis(database: int) -> Iterator[str]:
    """Point REDIS_URL at an empty Redis database for this run."""
    import redis

    from flow_api import embedded_redis

    server = None
    url = os.environ.get("REDIS_URL")
    if url is None:
        port = embedded_redis.free_port()
        server = embedded_redis.start(port)
        url = f"redis://127.0.0.1:{port}/0"
    url = with_path(url, f"/{database}")
    os.environ["REDIS_URL"] = url
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
        if server is not None:
            embedded_redis.stop(server)


def seed(users: int, due: int) -> None:
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from overview.models import OverviewWorkerState

    now = timezone.now()
    with transaction.atomic():
        for start in range(0, users, USERS_PER_INSERT):
            numbers = range(start, min(users, start + USERS_PER_INSERT))
            created = User.objects.bulk_create(
                User(username=f"user{n}", password="!") for n in numbers
            )
            OverviewWorkerState.objects.bulk_create(
                OverviewWorkerState(user=user, last_run_at=now, next_run_at=due_at)
                for user, due_at in zip(
                    created, (next_run(now, n, n < due) for n in numbers), strict=True
                )
            )


def next_run(now: datetime.datetime, n: int, due: bool) -> datetime.datetime:
    # The due users fell due over the last quarter of an hour; the others are
    # due an hour from now or later, well after seeding and the tick are over.
    spread = datetime.timedelta(seconds=n % 900)
    if due:
        return now - datetime.timedelta(seconds=1) - spread
    return now + datetime.timedelta(hours=1) + spread


def database_version() -> str:
    from django.db import connection

    query = (
        "SELECT sqlite_version()"
        if connection.vendor == "sqlite"
        else "SHOW server_version"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return str(cursor.fetchone()[0])


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def tick_in_steps() -> tuple[float, float, float, int]:
    """One tick, with the claim and the queueing timed apart; the queueing
    also in CPU time of this process, which the machine's load bends less."""
    from django.utils import timezone

    from overview import schedule
    from overview.tasks import queue_scheduled

    claiming = queueing = queueing_cpu = 0.0
    queued = 0
    claims = schedule.claim_due(timezone.now())
    while True:
        elapsed, claimed = timed(lambda: next(claims, None))
        claiming += elapsed
        if claimed is None:
            return claiming, queueing, queueing_cpu, queued
        cpu = time.process_time()
        elapsed, _ = timed(lambda: queue_scheduled(claimed))  # noqa: B023
        queueing_cpu += time.process_time() - cpu
        queueing += elapsed
        queued += len(claimed)


def queued_message(url: str, queue: str, count: int) -> bytes:
    """One of the messages the tick queued, having checked they all are."""
    import redis

    client = redis.Redis.from_url(url)
    assert client.llen(queue) == count
    sample = client.lindex(queue, 0)
    assert isinstance(sample, bytes)
    client.close()
    return sample


def bare_pipeline(url: str, sample: bytes, count: int) -> float:
    import redis

    client = redis.Redis.from_url(url)
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for _ in range(count):
        pipe.lpush("bench:bare", sample)
    pipe.execute()
    elapsed = time.perf_counter() - started
    assert client.llen("bench:bare") == count
    client.delete("bench:bare")
    client.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--redis-db", type=int, default=15)
    args = parser.parse_args()

    with throwaway_database() as vendor, throwaway_redis(args.redis_db) as redis_url:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from overview.tasks import OVERVIEW_QUEUE, dispatch_due

        call_command("migrate", verbosity=0)
        seeding, _ = timed(lambda: seed(args.users, args.due))
        # The planner statistics a database in service would have by now.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"machine: {os.cpu_count()} cores, {platform.platform()}, "
            f"Python {platform.python_version()}, load average "
            + " ".join(f"{load:.1f}" for load in os.getloadavg())
        )
        print(f"database: {vendor} {database_version()}")
        print(
            f"{args.users:,} enabled users, {args.due:,} due; seeded in {seeding:.1f} s"
        )

        claiming, queueing, queueing_cpu, queued = tick_in_steps()
        assert queued == args.due, queued
        sample = queued_message(redis_url, OVERVIEW_QUEUE, args.due)
        idle = [timed(lambda: dispatch_due.apply().get())[0] for _ in range(20)]
        assert dispatch_due.apply().get() == 0
        bare = bare_pipeline(redis_url, sample, args.due)

        per = 1e6 / args.due
        print(f"tick with {args.due:,} due:")
        print(
            f"  claim (select, conditional updates): {claiming:7.2f} s"
            f"  ({claiming * per:.0f} us a user)"
        )
        print(
            f"  queue the runs through Celery:        {queueing:7.2f} s"
            f"  ({queueing * per:.0f} us a message, {queueing_cpu * per:.0f} us"
            " of it CPU here)"
        )
        print(f"  total:                                {claiming + queueing:7.2f} s")
        print(
            f"tick with nobody due, median of 20:     "
            f"{statistics.median(idle) * 1e3:7.1f} ms"
        )
        print(
            f"bare redis-py pipeline, {args.due:,} LPUSH of {len(sample)} bytes: "
            f"{bare:.3f} s  ({bare * per:.0f} us a message)"
        )


if __name__ == "__main__":
    main()
