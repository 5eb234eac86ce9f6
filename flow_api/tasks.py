"""What every Celery task of the project shares: timings in the log, time limits,
and retries of the errors a later attempt can get past.

A task family declares its own module and tasks on the base here and names the
errors it counts as transient; everything else about failing lives in this
one place.
"""

import logging
import random
import time
from typing import Any

from celery import Task as CeleryTask
from celery.exceptions import TaskPredicate
from django.db import OperationalError

logger = logging.getLogger(__name__)


def backoff(retries: int, base: float, maximum: float) -> float:
    """Seconds to wait before the retry that follows ``retries`` earlier ones.

    The wait doubles with each retry, up to ``maximum``, and a random quarter
    on top keeps tasks that failed together from all coming back together.
    """
    delay = min(maximum, base * 2.0**retries)
    return delay + random.uniform(0, delay / 4)


class Task(CeleryTask):  # type: ignore[type-arg]
    """The base of the project's tasks.

    An error is retried only when its class is one of ``transient_errors``
    and, for an error that says itself whether a retry can help (it has a
    ``retryable`` attribute), when it says so. Any other error, or one that
    has used all its attempts, fails the task: Celery logs it, and the message
    is acknowledged rather than delivered again.
    """

    # Three attempts in all: the first and two retries.
    max_retries = 2
    retry_backoff_base = 15.0
    retry_backoff_max = 300.0
    transient_errors: tuple[type[BaseException], ...] = (OperationalError,)

    # Short tasks by default; a family whose tasks wait on slower things sets
    # its own limits. The soft limit raises inside the task so that it can
    # clean up, the hard one ends the process that runs it.
    soft_time_limit = 60
    time_limit = 90

    def is_transient(self, error: BaseException) -> bool:
        if not isinstance(error, self.transient_errors):
            return False
        return bool(getattr(error, "retryable", True))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        attempt = self.request.retries + 1
        logger.debug("%s[%s] started, attempt %d", self.name, self.request.id, attempt)
        try:
            result = super().__call__(*args, **kwargs)
        except TaskPredicate:
            # A task that asked for its own retry, or to be ignored, has
            # already decided what happens next.
            raise
        except Exception as error:
            elapsed = (time.monotonic() - started) * 1000
            if not self.is_transient(error):
                logger.warning(
                    "%s[%s] failed after %.0f ms, and a retry cannot help: %r",
                    self.name,
                    self.request.id,
                    elapsed,
                    error,
                )
                raise
            if self.max_retries is not None and attempt > self.max_retries:
                logger.warning(
                    "%s[%s] failed after %.0f ms on its last attempt (%d): %r",
                    self.name,
                    self.request.id,
                    elapsed,
                    attempt,
                    error,
                )
                raise
            countdown = backoff(
                self.request.retries, self.retry_backoff_base, self.retry_backoff_max
            )
            logger.warning(
                "%s[%s] failed after %.0f ms on attempt %d, retrying in %.0f s: %r",
                self.name,
                self.request.id,
                elapsed,
                attempt,
                countdown,
                error,
            )
            raise self.retry(exc=error, countdown=countdown) from error

        logger.info(
            "%s[%s] finished in %.0f ms",
            self.name,
            self.request.id,
            (time.monotonic() - started) * 1000,
        )
        return result
