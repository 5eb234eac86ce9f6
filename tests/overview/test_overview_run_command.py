import json

import pytest
from django.core.management import CommandError, call_command

from crm.models import ForecastSnapshot
from notifications.models import Notification
from overview import service
from tests import factories

pytestmark = pytest.mark.django_db


def overview_run(*args, capsys):
    call_command("overview_run", *args)
    return json.loads(capsys.readouterr().out)


def test_it_runs_with_the_rules_and_prints_the_run(alice, settings, capsys):
    settings.OVERVIEW_ANALYZER = "rules"
    deal = factories.deal(alice, title="Acme renewal", stage="proposal")
    service.enable(alice)
    deal.stage = "closed_won"
    deal.save()

    run = overview_run("alice", "--force", capsys=capsys)

    assert run["outcome"] == "succeeded"
    assert (run["analyzer"], run["changes"]["total"]["deals"]) == ("rules", 1)
    assert run["actions"]["notifications"] == ["Deal won: Acme renewal"]
    assert Notification.objects.get().title == "Deal won: Acme renewal"
    assert ForecastSnapshot.objects.filter(user=alice).exists()


def test_it_respects_the_cooldown_without_force(alice):
    service.enable(alice)

    with pytest.raises(CommandError, match="--force"):
        call_command("overview_run", "alice")


def test_it_names_an_unknown_user_or_a_disabled_worker(alice):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("overview_run", "nobody")
    with pytest.raises(CommandError, match="not enabled"):
        call_command("overview_run", "alice")
