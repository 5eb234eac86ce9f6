"""The run task, applied in this process as a worker would run it.

Celery's ``apply()`` runs a retry at once instead of after its countdown, so
the attempts of one message are all seen here.
"""

from decimal import Decimal

import pytest

from notifications.models import Notification
from overview import service
from overview.models import OverviewRun
from overview.run import take_lease
from overview.tasks import run_overview_task
from tests import factories
from tests.fake_ollama import closed_port_url

pytestmark = pytest.mark.django_db

ANALYSIS = {
    "forecast_impact": {"should_update": False, "reason": "Nothing moved."},
    "notifications": [
        {
            "type": "deal_update",
            "priority": "high",
            "title": "Globex is worth a call",
            "message": "A large deal entered the pipeline.",
        }
    ],
}


@pytest.fixture
def rules(settings):
    settings.OVERVIEW_ANALYZER = "rules"


@pytest.fixture
def ollama_down(settings):
    settings.OVERVIEW_ANALYZER = "ollama"
    settings.OLLAMA_HOST = closed_port_url()


@pytest.fixture
def ollama(settings, fake_ollama):
    settings.OVERVIEW_ANALYZER = "ollama"
    settings.OLLAMA_HOST = fake_ollama.url
    settings.OLLAMA_TIMEOUT = 5.0
    return fake_ollama


def outcomes(user) -> list[str]:
    return list(
        OverviewRun.objects.filter(user=user)
        .order_by("started_at", "pk")
        .values_list("outcome", flat=True)
    )


def test_a_queued_run_runs_the_overview_for_its_user(alice, state, rules):
    factories.deal(alice, title="Globex", value=Decimal("80000"))

    result = run_overview_task.apply((alice.pk,))

    run = OverviewRun.objects.get(pk=result.get())
    assert (run.outcome, run.trigger, run.analyzer) == (
        "succeeded",
        "schedule",
        "rules",
    )
    assert Notification.objects.get().title == "New large deal: Globex"


def test_the_trigger_is_recorded_on_the_run(alice, state, rules):
    result = run_overview_task.apply((alice.pk,), {"trigger": "run_now"})

    assert OverviewRun.objects.get(pk=result.get()).trigger == "run_now"


def test_nothing_runs_for_a_user_who_turned_the_worker_off(alice, state, rules):
    service.disable(alice)

    assert run_overview_task.apply((alice.pk,)).get() is None
    assert not OverviewRun.objects.exists()


def test_nothing_runs_for_a_user_who_never_enabled_it(alice, rules):
    assert run_overview_task.apply((alice.pk,)).get() is None
    assert not OverviewRun.objects.exists()


def test_nothing_runs_while_another_run_holds_the_lease(alice, state, rules):
    take_lease(state)

    result = run_overview_task.apply((alice.pk,))

    assert result.get() is None
    assert not OverviewRun.objects.exists()


def test_with_ollama_unreachable_the_run_is_tried_three_times(
    alice, state, ollama_down
):
    factories.deal(alice)

    result = run_overview_task.apply((alice.pk,))

    assert result.failed()
    assert outcomes(alice) == ["failed", "failed", "failed"]
    assert all(
        "not reachable" in error
        for error in OverviewRun.objects.values_list("error", flat=True)
    )


def test_after_three_unreachable_attempts_the_watermark_has_not_moved(
    alice, state, ollama_down
):
    factories.deal(alice)
    watermark = state.last_run_at

    run_overview_task.apply((alice.pk,))

    state.refresh_from_db()
    assert state.last_run_at == watermark
    assert state.metadata["consecutive_failures"] == 3
    assert not state.is_leased


def test_after_three_unreachable_attempts_the_user_is_told_once(
    alice, state, ollama_down
):
    factories.deal(alice)

    run_overview_task.apply((alice.pk,))
    run_overview_task.apply((alice.pk,))

    notices = Notification.objects.filter(
        title="The overview analysis is failing"
    ).count()
    assert notices == 1


def test_an_overloaded_ollama_is_tried_again_and_the_retry_succeeds(
    alice, state, ollama
):
    factories.deal(alice)
    ollama.fail(503, "server busy")
    ollama.reply_json(ANALYSIS)

    result = run_overview_task.apply((alice.pk,))

    assert result.successful()
    assert outcomes(alice) == ["failed", "succeeded"]
    assert len(ollama.chats) == 2
    assert Notification.objects.get().title == "Globex is worth a call"


def test_an_error_a_retry_cannot_help_is_not_retried(alice, state, ollama):
    factories.deal(alice)
    ollama.models = set()

    result = run_overview_task.apply((alice.pk,))

    assert result.failed()
    assert outcomes(alice) == ["failed"]
    assert "does not have the model" in OverviewRun.objects.get().error
