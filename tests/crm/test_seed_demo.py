"""The demo CRM that ``make run`` seeds."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from crm.models import CalendarEvent, Contact, Deal, Stage
from overview.models import OverviewWorkerState

pytestmark = pytest.mark.django_db


def seed():
    call_command("seed_demo", stdout=io.StringIO())


def counts():
    return {
        "users": User.objects.count(),
        "contacts": Contact.objects.count(),
        "deals": Deal.objects.count(),
        "events": CalendarEvent.objects.count(),
    }


def test_it_creates_the_demo_user_who_may_open_the_admin():
    seed()

    demo = User.objects.get(username="demo")
    assert demo.check_password("demo")
    assert demo.is_staff
    assert demo.is_superuser


def test_it_creates_a_small_crm_for_the_demo_user():
    seed()

    assert counts() == {"users": 1, "contacts": 20, "deals": 15, "events": 10}


def test_its_deals_cover_every_stage():
    seed()

    stages = set(Deal.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)


def test_running_it_twice_leaves_the_same_crm():
    seed()
    first = counts()
    deals = dict(Deal.objects.values_list("title", "updated_at"))

    seed()

    assert counts() == first
    assert dict(Deal.objects.values_list("title", "updated_at")) == deals


def test_it_enables_the_demo_worker_every_minute_from_now():
    seed()

    state = OverviewWorkerState.objects.get(user__username="demo")
    assert (state.enabled, state.cooldown_period) == (True, 60)


def test_it_leaves_an_existing_worker_state_as_it_is():
    seed()
    OverviewWorkerState.objects.update(enabled=False, cooldown_period=900)

    seed()

    state = OverviewWorkerState.objects.get()
    assert (state.enabled, state.cooldown_period) == (False, 900)
