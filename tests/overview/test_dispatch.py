import datetime
import threading

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from overview import schedule, service
from overview.models import OverviewWorkerState
from overview.tasks import dispatch_due
from tests.overview import broker

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def queue():
    with broker.watched("overview_analysis") as queue:
        yield queue


def make_due(state: OverviewWorkerState, ago: datetime.timedelta = MINUTE) -> None:
    OverviewWorkerState.objects.filter(pk=state.pk).update(
        next_run_at=timezone.now() - ago
    )


def claimed_users(now: datetime.datetime, batch_size: int = 500) -> list[int]:
    return [
        user.user_id
        for claimed in schedule.claim_due(now, batch_size)
        for user in claimed
    ]


# The runs are queued when the claims commit, so these tests commit.
@pytest.mark.django_db(transaction=True)
class TestDispatchDue:
    def test_it_queues_one_run_for_each_due_user(self, alice, bob, queue):
        make_due(service.enable(alice))
        service.enable(bob)

        queued = dispatch_due.apply().get()

        assert queued == 1
        (sent,) = queue.sent()
        assert sent.task == "overview.tasks.run_overview_task"
        assert (sent.args, sent.kwargs) == ([alice.pk], {"trigger": "schedule"})

    def test_a_queued_run_expires_after_one_cooldown(self, alice, queue):
        make_due(service.enable(alice, cooldown_period=600))

        before = timezone.now()
        dispatch_due.apply()

        (sent,) = queue.sent()
        assert sent.expires is not None
        expires_in = sent.expires - before
        assert datetime.timedelta(seconds=599) < expires_in
        assert expires_in < datetime.timedelta(seconds=602)

    def test_a_tick_with_nobody_due_queues_nothing(self, alice, queue):
        service.enable(alice)

        assert dispatch_due.apply().get() == 0
        assert queue.sent() == []

    def test_a_user_whose_runs_were_missed_gets_one_run(self, alice, queue):
        make_due(service.enable(alice), ago=datetime.timedelta(days=3))

        dispatch_due.apply()
        dispatch_due.apply()

        assert queue.users() == [alice.pk]

    def test_a_tick_inside_a_transaction_queues_its_runs_when_it_commits(
        self, alice, queue
    ):
        make_due(service.enable(alice))

        with transaction.atomic():
            dispatch_due.apply()
            assert queue.sent() == []

        assert queue.users() == [alice.pk]

    def test_the_command_runs_one_tick_and_says_how_many_it_queued(
        self, alice, queue, capsys
    ):
        make_due(service.enable(alice))

        call_command("overview_dispatch")

        assert capsys.readouterr().out.strip() == "Queued 1 overview runs."
        assert queue.users() == [alice.pk]


@pytest.mark.django_db
class TestClaim:
    def test_a_claimed_user_moves_about_one_cooldown_ahead(self, alice):
        state = service.enable(alice, cooldown_period=900)
        now = timezone.now() + datetime.timedelta(seconds=900)

        assert claimed_users(now) == [alice.pk]

        state.refresh_from_db()
        assert state.next_run_at is not None
        delay = (state.next_run_at - now).total_seconds()
        assert 900 - schedule.MAX_JITTER <= delay <= 900

    def test_the_jitter_is_at_most_a_tenth_of_a_short_cooldown(self, alice):
        state = service.enable(alice, cooldown_period=120)
        now = timezone.now() + datetime.timedelta(seconds=120)

        claimed_users(now)

        state.refresh_from_db()
        assert state.next_run_at is not None
        assert 108 <= (state.next_run_at - now).total_seconds() <= 120

    def test_a_user_whose_cooldown_is_one_tick_runs_at_every_tick(
        self, alice, monkeypatch
    ):
        # Without jitter the next run lands exactly one tick after the claim.
        monkeypatch.setattr(schedule, "jitter", lambda cooldown_period: 0.0)
        service.enable(alice, cooldown_period=60)
        tick = timezone.now() + MINUTE
        # Each tick's claim happens a little after the tick, by a little more
        # or less each time, as when the beat fires and the task starts.
        late = [datetime.timedelta(milliseconds=ms) for ms in (40, 20, 45, 10, 30)]

        runs = [claimed_users(tick + n * MINUTE + late[n]) for n in range(5)]

        assert runs == [[alice.pk]] * 5

    def test_a_user_is_not_due_before_the_first_cooldown_after_enabling(self, alice):
        service.enable(alice, cooldown_period=300)
        now = timezone.now()

        assert claimed_users(now + datetime.timedelta(seconds=290)) == []
        assert claimed_users(now + datetime.timedelta(seconds=301)) == [alice.pk]

    def test_a_disabled_user_is_never_claimed(self, alice):
        state = service.enable(alice)
        OverviewWorkerState.objects.filter(pk=state.pk).update(
            enabled=False, next_run_at=timezone.now() - MINUTE
        )

        assert claimed_users(timezone.now() + datetime.timedelta(days=30)) == []

    def test_a_disabled_user_resumes_once_enabled_again(self, alice):
        service.enable(alice, cooldown_period=300)
        service.disable(alice)
        assert claimed_users(timezone.now() + datetime.timedelta(days=1)) == []

        service.enable(alice)

        later = timezone.now() + datetime.timedelta(seconds=301)
        assert claimed_users(later) == [alice.pk]

    def test_the_due_users_are_claimed_in_batches(self, django_user_model):
        users = make_users(django_user_model, 7)
        for user in users:
            make_due(service.enable(user))

        batches = list(schedule.claim_due(timezone.now(), batch_size=3))

        assert [len(claimed) for claimed in batches] == [3, 3, 1]
        assert {due.user_id for claimed in batches for due in claimed} == {
            user.pk for user in users
        }

    def test_a_user_claimed_elsewhere_after_being_read_is_not_claimed_again(
        self, alice, bob
    ):
        for user in (alice, bob):
            make_due(service.enable(user))
        now = timezone.now()
        read_here = schedule.due_users(now, limit=10)

        claimed_elsewhere = claimed_users(now)
        claimed_here = schedule.claim(read_here, now)

        assert sorted(claimed_elsewhere) == sorted([alice.pk, bob.pk])
        assert claimed_here == []

    def test_of_a_batch_partly_claimed_elsewhere_the_rest_is_claimed(self, alice, bob):
        for user in (alice, bob):
            make_due(service.enable(user))
        now = timezone.now()
        read_here = schedule.due_users(now, limit=10)
        read_elsewhere = schedule.due_users(now, limit=10)

        claimed_elsewhere = schedule.claim(
            [due for due in read_elsewhere if due.user_id == alice.pk], now
        )
        claimed_here = schedule.claim(read_here, now)

        assert [due.user_id for due in claimed_elsewhere] == [alice.pk]
        assert [due.user_id for due in claimed_here] == [bob.pk]

    def test_a_user_disabled_after_being_read_is_not_claimed(self, alice):
        make_due(service.enable(alice))
        now = timezone.now()
        read_here = schedule.due_users(now, limit=10)

        service.disable(alice)

        assert schedule.claim(read_here, now) == []


def make_users(django_user_model: type[User], count: int) -> list[User]:
    return django_user_model.objects.bulk_create(
        django_user_model(username=f"user{number}") for number in range(count)
    )


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_claim_each_due_user_once(django_user_model):
    users = make_users(django_user_model, 300)
    past = timezone.now() - MINUTE
    OverviewWorkerState.objects.bulk_create(
        OverviewWorkerState(user=user, next_run_at=past) for user in users
    )
    now = timezone.now()
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def dispatcher(index: int) -> None:
        try:
            start.wait()
            claimed[index] = claimed_users(now, batch_size=25)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    first, second = claimed
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(user.pk for user in users)


@pytest.mark.django_db
def test_the_beat_runs_the_dispatcher_every_minute_on_the_default_queue():
    entry = PeriodicTask.objects.get(name="overview: dispatch due users")

    assert entry.task == dispatch_due.name
    assert entry.queue == "default"
    assert entry.enabled
    assert entry.interval is not None
    assert (entry.interval.every, entry.interval.period) == (60, "seconds")
