"""The overview's tasks: the dispatcher that the beat calls every minute, and
one run for one user.

    beat -> dispatch_due (queue default) -> run_overview_task (queue
    overview_analysis), one message per due user

Messages are acknowledged only when a task ends (see the Celery settings), so
a run whose worker is killed is delivered again; by then its lease has
expired, and the new attempt takes the user over.
"""

import inspect
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone
from kombu import Producer

from flow_api.celery import app
from flow_api.tasks import Task
from overview import schedule
from overview.analysis.errors import AnalysisError
from overview.models import OverviewWorkerState
from overview.run import run_overview

logger = logging.getLogger(__name__)

OVERVIEW_QUEUE = "overview_analysis"
SCHEDULE = "schedule"
RUN_NOW = "run_now"


def queue_run(
    user_id: int, trigger: str, expires: int, producer: Producer | None = None
) -> None:
    """Queue one run for ``user_id``.

    A message still unread after ``expires`` seconds is dropped by the worker:
    by then a newer one has been queued, or the request is stale.
    """
    run_overview_task.apply_async(
        (user_id,), {"trigger": trigger}, expires=expires, producer=producer
    )


def queue_scheduled(users: list[schedule.DueUser]) -> None:
    # One producer for the batch saves taking one from the pool per message.
    with app.producer_or_acquire() as producer:
        for user in users:
            queue_run(user.user_id, SCHEDULE, user.cooldown_period, producer)


# A tick with thousands of users due spends most of its time handing Celery
# one message at a time (see BENCHMARKS.md), so it gets more than the default
# minute. Each batch is queued as soon as it is claimed, so a tick cut short
# loses at most the runs of one batch, until their users are due again.
@app.task(
    base=Task,
    name="overview.tasks.dispatch_due",
    queue="default",
    soft_time_limit=300,
    time_limit=330,
)
def dispatch_due(batch_size: int = schedule.BATCH_SIZE) -> int:
    """Queue one run for every enabled user whose next run is due; the count."""
    queued = 0
    for claimed in schedule.claim_due(timezone.now(), batch_size):
        # The claims are committed when they arrive here; on_commit still
        # holds the messages back when a caller has wrapped the tick in a
        # transaction of its own, which might yet roll the claims back.
        transaction.on_commit(partial(queue_scheduled, claimed))
        queued += len(claimed)
    if queued:
        logger.info("Queued overview runs for %d due users", queued)
    return queued


class RunTask(Task):
    """A run waits on a model that may be slow, and is retried while the
    model is out of reach or the database briefly fails."""

    transient_errors = (AnalysisError, OperationalError)
    # The model may be asked twice in one run, each time for up to
    # OLLAMA_TIMEOUT, and detection and execution need a little more. The
    # default lease (ten minutes) outlasts both limits, so a run stopped by
    # the hard one never overlaps the next.
    soft_time_limit = int(2 * settings.OLLAMA_TIMEOUT) + 60
    time_limit = soft_time_limit + 30

    def after_return(
        self,
        status: str,
        retval: Any,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: Any,
    ) -> None:
        # Celery calls this once the task is over for good, not before a
        # retry, so a run-now stays marked as queued across its retries.
        call = inspect.signature(self.run).bind(*args, **kwargs)
        call.apply_defaults()
        if call.arguments["trigger"] == RUN_NOW:
            schedule.forget_run_now(call.arguments["user_id"])


@app.task(base=RunTask, name="overview.tasks.run_overview_task", queue=OVERVIEW_QUEUE)
def run_overview_task(user_id: int, trigger: str = SCHEDULE) -> int | None:
    """Run the overview for one user; the run's id, or None when none ran.

    Nothing runs for a user who has turned the worker off since the run was
    queued, nor while another run holds the user's lease.
    """
    state = (
        OverviewWorkerState.objects.select_related("user")
        .filter(user_id=user_id)
        .first()
    )
    if state is None or not state.enabled:
        logger.info(
            "Overview for user %s is off; the %s run is dropped", user_id, trigger
        )
        return None

    run = run_overview(state, trigger=trigger)
    return None if run is None else run.pk
