"""When runs happen: the dispatcher's claim on due users, and the marker that
keeps a user's run-now requests to one queued run.

Every enabled user has a ``next_run_at``. Once a minute the dispatcher claims
the users whose moment has passed, moves each one a cooldown ahead, and queues
one run for each. A user whose runs were missed while the service was down is
claimed once and gets one run, not one for every cooldown it missed.
"""

import datetime
import functools
import logging
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection, transaction

from overview.models import OverviewWorkerState

logger = logging.getLogger(__name__)

# A claim's update names its users in a list of parameters; 500 stay within
# the 999 that SQLite allowed by default before version 3.32.
BATCH_SIZE = 500
# A claimed user's next run comes a little before a full cooldown, by a random
# amount, so that users who became due together (after downtime, or enabled in
# bulk) drift apart instead of arriving at the same tick forever after. The
# jitter pulls the next run in rather than pushing it out: the dispatcher only
# looks once a tick, which already adds up to a tick to every wait, and a run
# put off past the next tick by a few seconds would wait a whole tick more.
JITTER_SHARE = 0.1
# A user due within this many seconds of a tick is claimed at that tick. The
# beat fires a few milliseconds late, and a claim made a few milliseconds
# after one tick must not come due a few milliseconds after the next.
TICK_SLACK = datetime.timedelta(seconds=5)
MAX_JITTER = 60.0
JITTER_STEPS = 6


@dataclass(frozen=True)
class DueUser:
    state_id: int
    user_id: int
    cooldown_period: int


def jitter(cooldown_period: int) -> float:
    """Seconds taken off one claimed user's cooldown, picked at random.

    The jitter comes in a few steps rather than any fraction of a second, so
    that a batch of users falls into a handful of groups with the same next
    run, each moved by one update.
    """
    largest = min(cooldown_period * JITTER_SHARE, MAX_JITTER)
    return random.randint(0, JITTER_STEPS) * largest / JITTER_STEPS


def claim_due(
    now: datetime.datetime, batch_size: int = BATCH_SIZE
) -> Iterator[list[DueUser]]:
    """Claim the users due at ``now``, one committed batch at a time.

    Each batch is yielded after its transaction has committed, so whatever
    the caller does with it (queue the runs) happens only for claims that
    hold. A batch may be empty when another dispatcher took every user in it.
    The loop ends because every candidate stops being due, claimed here or
    elsewhere, and users who fall due after ``now`` wait for the next tick.
    """
    while True:
        with transaction.atomic():
            candidates = due_users(now, batch_size)
            claimed = claim(candidates, now)
        if not candidates:
            return
        logger.debug("Claimed %d of %d due users", len(claimed), len(candidates))
        yield claimed


def due_users(now: datetime.datetime, limit: int) -> list[DueUser]:
    """Up to ``limit`` enabled users due at ``now``, the longest overdue first.

    On PostgreSQL the rows are locked, skipping those another dispatcher has
    locked already, so that two dispatchers at once share the work instead
    of one waiting on the other. That is all the locks are for: what makes a
    claim hold is the conditional update in ``claim``.
    """
    due = OverviewWorkerState.objects.filter(
        enabled=True, next_run_at__lte=now + TICK_SLACK
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    rows = due.order_by("next_run_at", "pk").values_list(
        "pk", "user_id", "cooldown_period"
    )[:limit]
    return [DueUser(*row) for row in rows]


def claim(candidates: list[DueUser], now: datetime.datetime) -> list[DueUser]:
    """Claim each candidate still due at ``now``; the ones this call claimed.

    Reading a user as due is not claiming it: two dispatchers (a beat that
    fired twice, a tick that overlaps a slow one) may both read the same row.
    A claim is an update that moves ``next_run_at`` a cooldown ahead only
    while the row is still enabled and due, and it holds only if the update
    touched every row it named. Of two dispatchers that read the same user,
    the second finds it moved and touches nothing, under any isolation level:
    PostgreSQL makes the second update wait for the first transaction and
    then checks the condition again against the new row, and SQLite lets one
    writer in at a time.

    The batch is claimed at once, with one update for each next run its
    users are given (a handful). Should those touch fewer rows than they
    named, another dispatcher took some of the users after they were read;
    a count does not say which, so the updates are undone and each user is
    claimed with an update of its own.
    """
    if not candidates:
        return []
    with transaction.atomic():
        if _move_ahead(candidates, now) == len(candidates):
            return candidates
        transaction.set_rollback(True)
    return [user for user in candidates if _move_ahead([user], now) == 1]


def _move_ahead(users: list[DueUser], now: datetime.datetime) -> int:
    """Move those of ``users`` still enabled and due to their next run after
    ``now``; how many were moved."""
    by_delay: dict[float, list[int]] = defaultdict(list)
    for user in users:
        by_delay[user.cooldown_period - jitter(user.cooldown_period)].append(
            user.state_id
        )
    return sum(
        OverviewWorkerState.objects.filter(
            pk__in=state_ids, enabled=True, next_run_at__lte=now + TICK_SLACK
        ).update(next_run_at=now + datetime.timedelta(seconds=delay))
        for delay, state_ids in by_delay.items()
    )


# Run-now. A request queues a run at once, past the cooldown. While that run
# is queued a key in Redis marks it, so that a second request queues nothing;
# once the run is under way its lease says the same. The key expires on its
# own in case the run never finishes (its message lost with a broker).


RUN_NOW_PREFIX = "overview:run-now:"


def run_now_key(user_id: int) -> str:
    return f"{RUN_NOW_PREFIX}{user_id}"


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def mark_run_now(user_id: int, ttl: int) -> bool:
    """Mark a run-now as queued for ``user_id``; False when one already is."""
    return bool(
        _redis(settings.REDIS_URL).set(run_now_key(user_id), 1, nx=True, ex=ttl)
    )


def forget_run_now(user_id: int) -> None:
    _redis(settings.REDIS_URL).delete(run_now_key(user_id))
