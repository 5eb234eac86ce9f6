import datetime

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from overview import schedule, service
from overview.run import take_lease
from overview.tasks import run_overview_task
from tests.overview import broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    with broker.watched("overview_analysis") as queue:
        yield queue


class TestRunNow:
    def test_it_queues_a_run_at_once(self, alice, state, queue):
        assert service.run_now(alice) is True

        (sent,) = queue.sent()
        assert (sent.args, sent.kwargs) == ([alice.pk], {"trigger": "run_now"})

    def test_it_leaves_the_next_scheduled_run_where_it_was(self, alice, state, queue):
        next_run_at = state.next_run_at

        service.run_now(alice)

        state.refresh_from_db()
        assert state.next_run_at == next_run_at

    def test_twice_queues_one_run(self, alice, state, queue):
        service.run_now(alice)

        assert service.run_now(alice) is False
        assert queue.users() == [alice.pk]

    def test_it_queues_nothing_while_a_run_holds_the_lease(self, alice, state, queue):
        take_lease(state)

        assert service.run_now(alice) is False
        assert queue.sent() == []

    def test_it_may_queue_again_once_the_queued_run_has_finished(
        self, alice, state, queue, settings
    ):
        settings.OVERVIEW_ANALYZER = "rules"
        service.run_now(alice)

        run_overview_task.apply((alice.pk,), {"trigger": "run_now"})

        assert service.run_now(alice) is True
        assert queue.users() == [alice.pk, alice.pk]

    def test_a_scheduled_run_finishing_leaves_a_queued_run_now_in_place(
        self, alice, state, queue, settings
    ):
        settings.OVERVIEW_ANALYZER = "rules"
        service.run_now(alice)

        run_overview_task.apply((alice.pk,))

        assert service.run_now(alice) is False

    def test_the_mark_of_a_queued_run_expires_with_the_lease(self, alice, state, queue):
        service.run_now(alice)

        client = redis.Redis.from_url(django_settings.REDIS_URL)
        ttl = client.ttl(schedule.run_now_key(alice.pk))
        assert 0 < ttl <= django_settings.OVERVIEW_LEASE_SECONDS

    def test_a_user_who_never_enabled_it_is_not_enabled(self, alice, queue):
        with pytest.raises(service.NotEnabled):
            service.run_now(alice)

    def test_a_user_who_disabled_it_is_not_enabled(self, alice, state, queue):
        service.disable(alice)

        with pytest.raises(service.NotEnabled):
            service.run_now(alice)
        assert queue.sent() == []


class TestEnable:
    def test_the_first_run_is_due_one_cooldown_after_enabling(self, alice):
        before = timezone.now()

        state = service.enable(alice, cooldown_period=600)

        assert state.next_run_at is not None
        due_in = state.next_run_at - before
        assert datetime.timedelta(seconds=600) <= due_in
        assert due_in < datetime.timedelta(seconds=601)

    def test_disabling_takes_the_user_off_the_schedule(self, alice, state):
        service.disable(alice)

        state.refresh_from_db()
        assert (state.enabled, state.next_run_at) == (False, None)
