import pytest

from overview import service
from overview.models import OverviewRun, OverviewWorkerState
from overview.run import run_overview
from tests import factories
from tests.api import client_for
from tests.overview.conftest import StaticAnalyzer

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    return client_for(alice)


def test_status_without_a_state_says_disabled(api):
    response = api.get("/api/overview/status")

    assert response.status_code == 200
    assert response.json() == {"enabled": False}


def test_status_gives_the_next_run_and_the_last_runs_summary(api, alice, state):
    factories.deal(alice)
    run = run_overview(state, analyzer=StaticAnalyzer())

    body = api.get("/api/overview/status/").json()

    assert body["enabled"] is True
    assert body["cooldown_period"] == 900
    assert body["observers"] == ["contacts", "deals", "events"]
    assert body["next_run_at"] is not None
    assert body["last_run"]["id"] == run.pk
    assert body["last_run"]["changes"]["total"]["deals"] == 1


def test_enable_creates_the_state_with_the_defaults(api, alice):
    response = api.post("/api/overview/enable", {}, format="json")

    assert response.status_code == 200
    assert response.json()["success"] is True
    state = OverviewWorkerState.objects.get(user=alice)
    assert (state.enabled, state.cooldown_period) == (True, 900)


def test_enable_takes_a_cooldown_and_observers(api, alice):
    response = api.post(
        "/api/overview/enable",
        {"cooldown_period": 1800, "observers": ["deals"]},
        format="json",
    )

    assert response.json()["state"]["cooldown_period"] == 1800
    assert OverviewWorkerState.objects.get(user=alice).observers == ["deals"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cooldown_period": 59}, "cooldown_period"),
        ({"cooldown_period": "often"}, "cooldown_period"),
        ({"cooldown_period": 7 * 24 * 3600 + 1}, "cooldown_period"),
        ({"cooldown_period": 486498827802908098560}, "cooldown_period"),
        ({"observers": []}, "observers"),
        ({"observers": ["tasks"]}, "observers"),
        ({"observers": "deals"}, "observers"),
        ({"observers": ["deals", "deals"]}, "observers"),
        ({"enabled": False}, "enabled"),
    ],
)
def test_invalid_configuration_gets_a_400_naming_the_field(api, state, body, field):
    response = api.patch("/api/overview/config", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    state.refresh_from_db()
    assert state.cooldown_period == 900


def test_enable_rejects_a_short_cooldown_too(api):
    response = api.post("/api/overview/enable", {"cooldown_period": 5}, format="json")

    assert response.status_code == 400
    assert not OverviewWorkerState.objects.exists()


def test_config_changes_the_cooldown(api, state):
    response = api.patch(
        "/api/overview/config", {"cooldown_period": 120}, format="json"
    )

    assert response.status_code == 200
    state.refresh_from_db()
    assert state.cooldown_period == 120


def test_config_and_disable_without_a_state_answer_404(api):
    config = api.patch("/api/overview/config", {"cooldown_period": 120}, format="json")
    disable = api.post("/api/overview/disable")

    assert config.status_code == disable.status_code == 404
    assert disable.json() == {"error": "Overview worker not found", "code": "not_found"}


def test_disable_keeps_the_state(api, alice, state):
    response = api.post("/api/overview/disable")

    assert response.json() == {"success": True}
    assert OverviewWorkerState.objects.get(user=alice).enabled is False


def test_run_now_without_a_state_answers_404(api):
    assert api.post("/api/overview/run-now").status_code == 404


def test_run_now_is_throttled_per_user(api, state, bob):
    first = api.post("/api/overview/run-now")
    second = api.post("/api/overview/run-now")
    service.enable(bob)
    other = client_for(bob).post("/api/overview/run-now")

    assert first.status_code == 200 and first.json()["success"] is True
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0
    assert second.json()["code"] == "throttled"
    assert other.status_code == 200


def test_runs_lists_the_callers_runs_newest_first(api, alice, bob, state):
    first = run_overview(state, analyzer=StaticAnalyzer())
    second = run_overview(state, analyzer=StaticAnalyzer())
    run_overview(service.enable(bob), analyzer=StaticAnalyzer())

    body = api.get("/api/overview/runs").json()

    assert [run["id"] for run in body["results"]] == [second.pk, first.pk]
    assert body["count"] == 2
    assert OverviewRun.objects.count() == 3


def test_run_now_of_a_disabled_worker_answers_409(api, alice, state):
    service.disable(alice)

    response = api.post("/api/overview/run-now")

    assert response.status_code == 409
    assert response.json()["code"] == "disabled"
