"""What the database and validation let a user's worker state hold."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from overview.models import OverviewWorkerState

pytestmark = pytest.mark.django_db


def test_a_new_state_watches_everything_every_fifteen_minutes(alice):
    state = OverviewWorkerState.objects.create(user=alice)

    assert state.cooldown_period == 900
    assert state.observers == ["contacts", "deals", "events"]
    assert state.enabled


def test_a_cooldown_under_a_minute_is_refused_by_the_database(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        OverviewWorkerState.objects.create(user=alice, cooldown_period=59)


def test_a_cooldown_of_one_minute_is_accepted_by_the_database(alice):
    state = OverviewWorkerState.objects.create(user=alice, cooldown_period=60)

    assert state.cooldown_period == 60


def test_a_cooldown_under_a_minute_fails_validation(alice):
    state = OverviewWorkerState(user=alice, cooldown_period=30)

    with pytest.raises(ValidationError) as raised:
        state.full_clean()

    assert "cooldown_period" in raised.value.message_dict


def test_an_unknown_observer_fails_validation(alice):
    state = OverviewWorkerState(user=alice, observers=["deals", "invoices"])

    with pytest.raises(ValidationError) as raised:
        state.full_clean()

    assert "'invoices'" in raised.value.message_dict["observers"][0]


def test_an_empty_observer_list_fails_validation(alice):
    state = OverviewWorkerState(user=alice, observers=[])

    with pytest.raises(ValidationError) as raised:
        state.full_clean()

    assert "observers" in raised.value.message_dict


def test_an_observer_named_twice_fails_validation(alice):
    state = OverviewWorkerState(user=alice, observers=["deals", "deals"])

    with pytest.raises(ValidationError):
        state.full_clean()


def test_a_subset_of_observers_passes_validation(alice):
    state = OverviewWorkerState(user=alice, observers=["deals"])

    state.full_clean()


def test_a_user_has_at_most_one_state(alice):
    OverviewWorkerState.objects.create(user=alice)

    with pytest.raises(IntegrityError), transaction.atomic():
        OverviewWorkerState.objects.create(user=alice)


def test_each_user_has_a_state_of_their_own(alice, bob):
    OverviewWorkerState.objects.create(user=alice)
    OverviewWorkerState.objects.create(user=bob)

    assert OverviewWorkerState.objects.count() == 2
