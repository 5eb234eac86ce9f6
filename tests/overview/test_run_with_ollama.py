"""Whole runs whose analysis comes from Ollama, through the real client."""

import pytest

from notifications.models import ActionItem, Notification
from overview.analysis.errors import InvalidReply, OllamaUnreachable
from overview.analysis.ollama import OllamaAnalyzer
from overview.models import OverviewRun
from overview.run import run_overview
from tests import factories
from tests.fake_ollama import closed_port_url

pytestmark = pytest.mark.django_db


def test_a_run_acts_on_the_models_answer(alice, state, fake_ollama):
    deal = factories.deal(alice, title="Acme renewal")
    fake_ollama.reply_json(
        {
            "forecast_impact": {"should_update": True, "reason": "new deal"},
            "action_items": [
                {
                    "action": "add",
                    "icon": "phone",
                    "title": "Call Acme",
                    "item_type": "task",
                }
            ],
            "notifications": [
                {
                    "type": "deal_update",
                    "priority": "high",
                    "title": "New deal: Acme renewal",
                    "message": "Worth a call.",
                }
            ],
            "insights": [
                {"entity_type": "deal", "entity_id": str(deal.pk), "insight": "Big."}
            ],
        }
    )

    run = run_overview(state, analyzer=OllamaAnalyzer(host=fake_ollama.url))

    assert (run.analyzer, run.model) == ("ollama", "mistral:latest")
    assert Notification.objects.get().title == "New deal: Acme renewal"
    assert ActionItem.objects.get().title == "Call Acme"
    assert run.actions["insights"][0]["entity_id"] == str(deal.pk)
    assert str(deal.pk) in fake_ollama.chats[0]["messages"][1]["content"]


def test_a_reply_naming_another_users_deal_acts_on_nothing_of_theirs(
    alice, bob, state, fake_ollama
):
    factories.deal(alice)
    theirs = factories.deal(bob, title="Bob's secret deal")
    fake_ollama.reply_json(
        {
            "insights": [
                {"entity_type": "deal", "entity_id": str(theirs.pk), "insight": "Hm."}
            ]
        }
    )

    run = run_overview(state, analyzer=OllamaAnalyzer(host=fake_ollama.url))

    assert run.actions["insights"] == []
    assert "Bob's secret deal" not in fake_ollama.chats[0]["messages"][1]["content"]


def test_garbage_twice_fails_the_run_and_keeps_the_watermark(alice, state, fake_ollama):
    factories.deal(alice)
    fake_ollama.reply("I am not sure what you mean.")
    fake_ollama.reply("Still not JSON.")

    with pytest.raises(InvalidReply):
        run_overview(state, analyzer=OllamaAnalyzer(host=fake_ollama.url))

    run = OverviewRun.objects.get()
    assert run.outcome == "failed" and run.error
    state.refresh_from_db()
    assert state.last_run_at == run.window_start


def test_an_unreachable_ollama_fails_the_run_with_the_host(alice, state):
    factories.deal(alice)
    host = closed_port_url()

    with pytest.raises(OllamaUnreachable):
        run_overview(state, analyzer=OllamaAnalyzer(host=host))

    assert host in OverviewRun.objects.get().error


def test_a_run_without_changes_makes_no_call(state, fake_ollama):
    run_overview(state, analyzer=OllamaAnalyzer(host=fake_ollama.url))

    assert fake_ollama.chats == []
