import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Deal, ForecastSnapshot
from notifications.models import ActionItem, Event, Notification
from overview import execute as execute_module
from overview import service
from overview.analysis.errors import OllamaUnreachable
from overview.models import EntitySnapshot, OverviewRun, OverviewWorkerState
from overview.run import release_lease, run_overview, take_lease
from tests import factories
from tests.overview.conftest import StaticAnalyzer

pytestmark = pytest.mark.django_db

ONE_NOTIFICATION = {
    "notifications": [
        {"type": "deal_update", "priority": "high", "title": "Won", "message": "!"}
    ]
}


class FailingAnalyzer:
    name = "failing"
    model = ""

    def analyze(self, changes):
        raise OllamaUnreachable("Ollama is not reachable at http://127.0.0.1:9")


def test_a_run_records_its_window_counts_analyzer_and_outcome(alice, state):
    factories.deal(alice)
    factories.contact(alice)

    run = run_overview(state, analyzer=StaticAnalyzer())

    run.refresh_from_db()
    assert run.outcome == "succeeded"
    assert run.analyzer == "static" and run.model == "static-1"
    assert run.window_start == state.last_run_at
    assert run.changes["total"] == {"contacts": 1, "deals": 1, "events": 0}
    assert run.changes["deals"] == {"new": 1, "updated": 0, "deleted": 0}
    assert run.duration_ms is not None and run.finished_at is not None


def test_a_successful_run_moves_the_watermark_to_when_detection_started(state):
    run = run_overview(state, analyzer=StaticAnalyzer())

    state.refresh_from_db()
    assert state.last_run_at == run.window_end
    assert state.metadata["consecutive_failures"] == 0


def test_a_run_without_changes_does_not_ask_the_analyzer(state, static_analyzer):
    run_overview(state, analyzer=static_analyzer)

    assert static_analyzer.seen == []
    assert Notification.objects.count() == 0


def test_a_run_stores_notifications_items_and_the_event_log(alice, state):
    factories.deal(alice)
    analyzer = StaticAnalyzer(
        action_items=[{"action": "add", "title": "Call Ann", "item_type": "task"}],
        **ONE_NOTIFICATION,
    )

    run = run_overview(state, analyzer=analyzer)

    item = ActionItem.objects.get()
    assert (item.title, item.created_by, item.run) == ("Call Ann", "worker", run)
    assert Notification.objects.get().run == run
    assert list(Event.objects.values_list("event", flat=True)) == [
        "notification",
        "action_items_changed",
        "forecast_updated",
        "run_finished",
    ]


def test_the_events_reach_the_users_channel_group_after_commit(alice, state):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{alice.pk}", channel)
    factories.deal(alice)

    run_overview(state, analyzer=StaticAnalyzer(**ONE_NOTIFICATION))

    received = [async_to_sync(layer.receive)(channel)["event"] for _ in range(3)]
    assert received == ["notification", "forecast_updated", "run_finished"]


def test_a_second_run_finds_nothing_and_does_nothing(alice, state):
    factories.deal(alice)
    analyzer = StaticAnalyzer(**ONE_NOTIFICATION)
    run_overview(state, analyzer=analyzer)

    second = run_overview(state, analyzer=analyzer)

    assert second.changes["total"]["deals"] == 0
    assert Notification.objects.count() == 1


def test_an_open_item_with_the_same_title_is_not_added_again(alice, state):
    factories.deal(alice)
    add = {"action_items": [{"action": "add", "title": "Call  ANN"}]}
    ActionItem.objects.create(user=alice, title="call ann", created_by="user")

    run_overview(state, analyzer=StaticAnalyzer(**add))

    assert ActionItem.objects.count() == 1


def test_an_item_is_not_duplicated_across_runs(alice, state):
    add = {"action_items": [{"action": "add", "title": "Call Ann"}]}
    for title in ("First", "Second"):
        factories.deal(alice, title=title)
        run_overview(state, analyzer=StaticAnalyzer(**add))

    assert ActionItem.objects.filter(retired_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("pattern", "retired"),
    [
        ("Acme", {"Follow up with Acme"}),
        ("%%%", {"Discount 100%%% off"}),
        ("___", {"Rename ___ field"}),
        ("nothing", set()),
    ],
)
def test_removal_patterns_match_literally(alice, state, pattern, retired):
    for title in ("Follow up with Acme", "Discount 100%%% off", "Rename ___ field"):
        ActionItem.objects.create(user=alice, title=title, created_by="worker")
    factories.deal(alice)
    remove = {"action_items": [{"action": "remove", "pattern": pattern}]}

    run_overview(state, analyzer=StaticAnalyzer(**remove))

    assert {
        item.title for item in ActionItem.objects.filter(retired_at__isnull=False)
    } == retired


def test_removal_spares_user_items_dismissed_items_and_other_users(alice, bob, state):
    ActionItem.objects.create(user=alice, title="Acme by hand", created_by="user")
    ActionItem.objects.create(
        user=alice, title="Acme dismissed", created_by="worker", dismissed=True
    )
    ActionItem.objects.create(user=bob, title="Acme of bob", created_by="worker")
    factories.deal(alice)
    remove = {"action_items": [{"action": "remove", "pattern": "Acme"}]}

    run = run_overview(state, analyzer=StaticAnalyzer(**remove))

    assert run.actions["action_items_removed"] == []
    assert not ActionItem.objects.filter(retired_at__isnull=False).exists()


def test_a_forecast_snapshot_is_stored_only_when_the_figures_change(alice, state):
    factories.deal(alice, value=Decimal("1000"), probability=50)
    run_overview(state, analyzer=StaticAnalyzer())
    factories.contact(alice)
    run_overview(state, analyzer=StaticAnalyzer())

    snapshot = ForecastSnapshot.objects.get()
    assert snapshot.weighted_forecast == Decimal("500.00")


def test_a_failed_run_is_recorded_and_leaves_the_watermark(alice, state):
    factories.deal(alice)
    watermark = state.last_run_at

    with pytest.raises(OllamaUnreachable):
        run_overview(state, analyzer=FailingAnalyzer())

    run = OverviewRun.objects.get()
    assert run.outcome == "failed"
    assert "not reachable" in run.error
    state.refresh_from_db()
    assert state.last_run_at == watermark
    assert state.metadata["consecutive_failures"] == 1
    assert not state.is_leased


def test_a_crash_before_commit_does_nothing_twice_on_retry(alice, state, monkeypatch):
    factories.deal(alice)
    analyzer = StaticAnalyzer(
        action_items=[{"action": "add", "title": "Call Ann"}], **ONE_NOTIFICATION
    )

    def crash(*args):
        raise RuntimeError("the worker died")

    with monkeypatch.context() as patch:
        # Everything but the snapshots has been written when this fails.
        patch.setattr(execute_module, "save_snapshots", crash)
        with pytest.raises(RuntimeError):
            run_overview(state, analyzer=analyzer)
    assert Notification.objects.count() == 0
    assert ActionItem.objects.count() == 0
    assert ForecastSnapshot.objects.count() == 0

    run_overview(state, analyzer=analyzer)
    run_overview(state, analyzer=analyzer)

    assert Notification.objects.count() == 1
    assert ActionItem.objects.count() == 1
    assert EntitySnapshot.objects.filter(entity_type="deal").count() == 1


def test_a_change_written_during_analysis_is_seen_by_the_next_run_once(alice, state):
    deal = factories.deal(alice, stage="lead")

    class WritesMeanwhile(StaticAnalyzer):
        def analyze(self, changes):
            Deal.objects.filter(pk=deal.pk).update(stage="proposal")
            return super().analyze(changes)

    run_overview(state, analyzer=WritesMeanwhile())
    analyzer = StaticAnalyzer()
    run_overview(state, analyzer=analyzer)
    run_overview(state, analyzer=analyzer)

    seen = [[c.fields["stage"] for c in changes.deals] for changes in analyzer.seen]
    assert seen == [["proposal"]]


def test_a_run_while_the_lease_is_held_does_nothing(alice, state):
    factories.deal(alice)
    token = take_lease(state)

    assert run_overview(state, analyzer=StaticAnalyzer()) is None
    assert OverviewRun.objects.count() == 0

    release_lease(state, token)
    assert run_overview(state, analyzer=StaticAnalyzer()) is not None


def test_an_expired_lease_lets_the_next_run_through(state):
    take_lease(state)
    OverviewWorkerState.objects.filter(pk=state.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert run_overview(state, analyzer=StaticAnalyzer()) is not None


def test_a_run_left_running_by_a_dead_worker_is_marked_abandoned(alice, state):
    OverviewRun.objects.create(
        user=alice, window_start=timezone.now(), window_end=timezone.now()
    )

    run_overview(state, analyzer=StaticAnalyzer())

    assert sorted(OverviewRun.objects.values_list("outcome", flat=True)) == [
        "abandoned",
        "succeeded",
    ]


def test_the_third_failure_in_a_row_tells_the_user_once(alice, state):
    factories.deal(alice)
    for _ in range(5):
        with pytest.raises(OllamaUnreachable):
            run_overview(state, analyzer=FailingAnalyzer())

    notice = Notification.objects.get()
    assert notice.title == "The overview analysis is failing"
    assert "not reachable" in notice.message


def test_a_success_clears_the_failing_notice_so_a_new_streak_tells_again(alice, state):
    factories.deal(alice)
    for _ in range(3):
        with pytest.raises(OllamaUnreachable):
            run_overview(state, analyzer=FailingAnalyzer())
    run_overview(state, analyzer=StaticAnalyzer())
    factories.deal(alice)
    for _ in range(3):
        with pytest.raises(OllamaUnreachable):
            run_overview(state, analyzer=FailingAnalyzer())

    assert Notification.objects.count() == 2


@pytest.mark.parametrize("changed", [1, 300])
def test_the_number_of_queries_does_not_depend_on_the_changes(alice, changed):
    contacts = [factories.contact(alice) for _ in range(3)]
    state = service.enable(alice)
    analyzer = StaticAnalyzer(
        action_items=[
            {"action": "add", "title": "Call Ann"},
            {"action": "remove", "pattern": "Old item"},
        ],
        **ONE_NOTIFICATION,
    )
    Deal.objects.bulk_create(
        Deal(user=alice, title=f"Deal {n}", value=Decimal(n), contact=contacts[n % 3])
        for n in range(changed)
    )
    for contact in contacts:
        contact.churn_risk = "high"
    type(contacts[0]).objects.bulk_update(contacts, ["churn_risk"])
    factories.event(alice, deal=Deal.objects.first(), contact=contacts[0])

    with CaptureQueriesContext(connection) as queries:
        run_overview(state, analyzer=analyzer)

    # Lease, run record, 3 reads per observed type, snapshots, forecast, the
    # effects, the events, the watermark and the release: the same for 1 row
    # as for 300.
    assert len(queries) == 29
