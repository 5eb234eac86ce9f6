"""``simulate_activity``: believable CRM changes that the worker then sees."""

import datetime
import io
import logging
import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.activity import make_change
from crm.models import CalendarEvent, Contact, Deal
from notifications.models import Notification
from overview import service
from overview.analysis.rules import RulesAnalyzer
from overview.detect import detect
from overview.run import run_overview
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


def small_crm(user):
    """A few contacts, deals at every open stage, and meetings to come."""
    contacts = [
        factories.contact(user, name=name, health_score=health)
        for name, health in (("Ada Moss", 80), ("Ben Okoro", 65), ("Cleo Hart", 50))
    ]
    for stage, value in (
        ("lead", "20000"),
        ("qualified", "45000"),
        ("proposal", "70000"),
        ("negotiation", "120000"),
    ):
        factories.deal(
            user,
            title=f"Deal at {stage}",
            stage=stage,
            value=Decimal(value),
            contact=contacts[0],
        )
    for days in (2, 5):
        factories.event(
            user,
            title=f"Meeting in {days} days",
            start_time=timezone.now() + datetime.timedelta(days=days),
            end_time=None,
        )


def simulate(username, *options):
    call_command(
        "simulate_activity",
        username,
        "--interval",
        "0",
        *options,
        stdout=io.StringIO(),
    )


def rows(user):
    return {
        "contacts": list(Contact.objects.filter(user=user).values()),
        "deals": list(Deal.objects.filter(user=user).values()),
        "events": list(CalendarEvent.objects.filter(user=user).values()),
    }


def test_it_makes_as_many_changes_as_asked_and_logs_each(alice, caplog):
    small_crm(alice)
    caplog.set_level(logging.INFO, logger="crm")

    simulate("alice", "--count", "5", "--seed", "1")

    logged = [record for record in caplog.records if record.name == "crm.activity"]
    assert len(logged) == 5
    assert all(
        record.getMessage().startswith("Activity for alice: ") for record in logged
    )


def test_the_worker_detects_every_change_it_makes(alice):
    small_crm(alice)
    state = service.enable(alice)
    rng = random.Random(4)

    made = [make_change(alice, rng) for _ in range(10)]

    changes = detect(state, until=timezone.now())
    seen = {(change.entity_type, change.entity_id) for change in changes.all}
    assert {(activity.entity_type, activity.entity_id) for activity in made} <= seen


def test_a_run_after_the_changes_tells_the_user_about_them(alice):
    small_crm(alice)
    state = service.enable(alice)

    simulate("alice", "--count", "6", "--seed", "7")
    run = run_overview(state, analyzer=RulesAnalyzer())

    assert run is not None
    assert run.outcome == "succeeded"
    assert sum(run.changes["total"].values()) >= 1
    assert Notification.objects.filter(user=alice).exists()


def test_even_an_empty_crm_gets_changes(alice):
    simulate("alice", "--count", "3", "--seed", "2")

    assert Deal.objects.filter(user=alice).exists()


def test_it_changes_only_the_named_users_crm(alice, bob):
    small_crm(alice)
    small_crm(bob)
    before = rows(bob)

    simulate("alice", "--count", "8", "--seed", "3")

    assert rows(bob) == before


def test_enable_worker_turns_the_worker_on_with_the_cooldown(alice):
    simulate("alice", "--count", "1", "--enable-worker", "--cooldown", "60")

    state = service.get_state(alice)
    assert state is not None
    assert state.enabled
    assert state.cooldown_period == 60


def test_a_cooldown_under_a_minute_is_refused(alice):
    with pytest.raises(CommandError, match="at least 60 seconds"):
        simulate("alice", "--count", "1", "--enable-worker", "--cooldown", "10")


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        simulate("nobody", "--count", "1")
