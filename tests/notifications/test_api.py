from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import ForecastSnapshot
from notifications.models import ActionItem, Notification
from tests import factories
from tests.api import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    return client_for(alice)


def notify(user, title, **fields):
    return Notification.objects.create(
        user=user, type="deal_update", title=title, **fields
    )


def test_notifications_list_unread_first(api, alice):
    notify(alice, "Read", read_at=timezone.now())
    notify(alice, "Unread")

    titles = [n["title"] for n in api.get("/api/notifications").json()["results"]]

    assert titles == ["Unread", "Read"]


def test_notifications_filter_unread(api, alice, bob):
    notify(alice, "Read", read_at=timezone.now())
    notify(alice, "Unread")
    notify(bob, "Bob's")

    response = api.get("/api/notifications", {"unread": "true"})

    assert [n["title"] for n in response.json()["results"]] == ["Unread"]


def test_a_notification_is_marked_read(api, alice):
    notification = notify(alice, "Won")

    response = api.post(f"/api/notifications/{notification.pk}/read")

    assert response.status_code == 200 and response.json()["read_at"]
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_another_users_notification_answers_404(api, bob):
    notification = notify(bob, "Bob's")

    assert api.post(f"/api/notifications/{notification.pk}/read").status_code == 404


def test_read_all_marks_only_the_callers_unread(api, alice, bob):
    notify(alice, "One")
    notify(alice, "Two")
    theirs = notify(bob, "Bob's")

    response = api.post("/api/notifications/read-all/")

    assert response.json() == {"marked": 2}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_action_items_list_the_open_ones_by_default(api, alice):
    ActionItem.objects.create(user=alice, title="Open")
    ActionItem.objects.create(user=alice, title="Dismissed", dismissed=True)
    ActionItem.objects.create(user=alice, title="Retired", retired_at=timezone.now())

    default = api.get("/api/action-items").json()["results"]
    everything = api.get("/api/action-items", {"status": "all"}).json()["results"]

    assert [item["title"] for item in default] == ["Open"]
    assert len(everything) == 3


def test_an_unknown_action_item_status_gets_a_400(api):
    response = api.get("/api/action-items", {"status": "done"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_an_action_item_is_dismissed(api, alice):
    item = ActionItem.objects.create(user=alice, title="Call Ann")

    response = api.post(f"/api/action-items/{item.pk}/dismiss")

    assert response.json()["dismissed"] is True
    item.refresh_from_db()
    assert item.dismissed


def test_another_users_action_item_answers_404(api, bob):
    item = ActionItem.objects.create(user=bob, title="Bob's")

    assert api.post(f"/api/action-items/{item.pk}/dismiss").status_code == 404


def test_a_malformed_id_answers_404(api):
    assert api.post("/api/action-items/not-a-uuid/dismiss").status_code == 404


def test_forecast_gives_current_figures_and_recent_snapshots(api, alice):
    factories.deal(alice, value=Decimal("10000"), probability=50, stage="proposal")
    ForecastSnapshot.objects.create(
        user=alice,
        total_pipeline=Decimal("9000"),
        weighted_forecast=Decimal("4500"),
        closing_this_month=0,
        closing_this_month_count=0,
        won_this_month=0,
        open_deals=1,
    )

    body = api.get("/api/forecast").json()

    assert body["current"]["total_pipeline"] == "10000.00"
    assert body["current"]["weighted_forecast"] == "5000.00"
    assert [s["total_pipeline"] for s in body["snapshots"]] == ["9000.00"]
