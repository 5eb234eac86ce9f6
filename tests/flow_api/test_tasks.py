"""The shared task base: which errors are retried, how often, and how long
the waits between attempts are."""

import pytest
from django.db import OperationalError

from flow_api.celery import app
from flow_api.tasks import Task, backoff

attempts: list[int] = []


class Flaky(Exception):
    def __init__(self, retryable: bool) -> None:
        super().__init__("flaky")
        self.retryable = retryable


class FlakyTask(Task):
    transient_errors = (OperationalError, Flaky)


@app.task(base=FlakyTask, bind=True, name="tests.flow_api.fail_with")
def fail_with(self: Task, kind: str, times: int) -> str:
    attempts.append(self.request.retries + 1)
    if len(attempts) > times:
        return "done"
    if kind == "database":
        raise OperationalError("database is locked")
    if kind == "retryable":
        raise Flaky(retryable=True)
    if kind == "final":
        raise Flaky(retryable=False)
    raise ValueError("a bug")


@pytest.fixture(autouse=True)
def no_attempts_yet():
    attempts.clear()


def test_a_named_transient_error_is_retried_until_an_attempt_succeeds():
    result = fail_with.apply(("database", 2))

    assert result.get() == "done"
    assert attempts == [1, 2, 3]


def test_a_task_is_tried_three_times_in_all():
    result = fail_with.apply(("database", 10))

    assert result.failed()
    assert isinstance(result.result, OperationalError)
    assert attempts == [1, 2, 3]


def test_an_error_that_says_it_can_be_retried_is_retried():
    assert fail_with.apply(("retryable", 1)).get() == "done"
    assert attempts == [1, 2]


def test_an_error_that_says_a_retry_cannot_help_is_not_retried():
    assert fail_with.apply(("final", 1)).failed()
    assert attempts == [1]


def test_an_error_the_task_does_not_name_is_not_retried():
    assert fail_with.apply(("bug", 1)).failed()
    assert attempts == [1]


@pytest.mark.parametrize(("retries", "low", "high"), [(0, 15, 18.75), (1, 30, 37.5)])
def test_the_wait_doubles_with_each_retry(retries, low, high):
    waits = [backoff(retries, base=15, maximum=300) for _ in range(50)]

    assert all(low <= wait <= high for wait in waits)


def test_the_wait_never_passes_the_maximum_by_more_than_its_jitter():
    assert backoff(10, base=15, maximum=300) <= 375
