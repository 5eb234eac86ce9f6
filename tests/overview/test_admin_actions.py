"""The actions an operator takes on users' workers from the admin list."""

import pytest
from django.urls import reverse

from overview import service
from overview.models import OverviewWorkerState
from overview.run import take_lease
from tests.overview import broker

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:overview_overviewworkerstate_changelist")


@pytest.fixture
def queue():
    with broker.watched("overview_analysis") as queue:
        yield queue


def act(operator, action, *states):
    response = operator.post(
        CHANGELIST,
        {"action": action, "_selected_action": [state.pk for state in states]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_run_now_queues_a_run_for_each_selected_user(operator, alice, bob, queue):
    states = service.enable(alice), service.enable(bob)

    messages = act(operator, "run_now", *states)

    assert messages == ["Queued a run for: alice, bob."]
    assert sorted(queue.users()) == sorted([alice.pk, bob.pk])


def test_run_now_says_which_users_were_busy_or_off(operator, alice, bob, queue):
    take_lease(service.enable(alice))
    service.enable(bob)
    service.disable(bob)

    messages = act(operator, "run_now", *OverviewWorkerState.objects.all())

    assert messages == [
        "A run is already queued or under way for: alice.",
        "Not run, the worker is disabled for: bob.",
    ]
    assert queue.sent() == []


def test_disable_turns_the_selected_workers_off(operator, alice, bob):
    states = service.enable(alice), service.enable(bob)

    messages = act(operator, "disable", *states)

    assert messages == ["Disabled the overview worker for 2 users."]
    assert not OverviewWorkerState.objects.filter(enabled=True).exists()


def test_enable_turns_only_the_disabled_workers_back_on(operator, alice, bob):
    alice_state = service.enable(alice)
    service.enable(bob)
    service.disable(bob)

    messages = act(operator, "enable", *OverviewWorkerState.objects.all())

    assert messages == ["Enabled the overview worker for 1 user."]
    assert OverviewWorkerState.objects.filter(enabled=True).count() == 2
    assert OverviewWorkerState.objects.get(user=alice).next_run_at == (
        alice_state.next_run_at
    )
