"""The admin pages an operator uses to look after the CRM and the worker."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from crm.models import CalendarEvent, Contact, Deal, ForecastSnapshot
from notifications.models import ActionItem, Event, Notification
from overview.models import EntitySnapshot, OverviewRun, OverviewWorkerState

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("crm", "overview", "notifications")
PROJECT_MODELS = [
    model
    for app_label in PROJECT_APPS
    for model in apps.get_app_config(app_label).get_models()
]


@pytest.fixture
def one_of_everything(alice):
    """A row of every model, so that every column of every list is drawn."""
    now = timezone.now()
    contact = Contact.objects.create(user=alice, name="Maya Lindqvist")
    deal = Deal.objects.create(
        user=alice,
        title="Fleet telematics",
        value=Decimal("120000"),
        contact=contact,
        expected_close_date=now.date(),
    )
    CalendarEvent.objects.create(
        user=alice, title="Review", start_time=now, deal=deal, contact=contact
    )
    ForecastSnapshot.objects.create(
        user=alice,
        total_pipeline=Decimal("120000"),
        weighted_forecast=Decimal("12000"),
        closing_this_month=Decimal("120000"),
        closing_this_month_count=1,
        won_this_month=Decimal("0"),
        open_deals=1,
    )
    OverviewWorkerState.objects.create(
        user=alice, lease_expires_at=now + datetime.timedelta(minutes=5)
    )
    run = OverviewRun.objects.create(
        user=alice,
        window_start=now - datetime.timedelta(minutes=15),
        window_end=now,
        outcome="failed",
        duration_ms=1250,
        changes={"total": {"deals": 2, "contacts": 1}},
        error="Ollama is not reachable at http://127.0.0.1:11434\nTraceback ...",
    )
    EntitySnapshot.objects.create(
        user=alice, entity_type="deal", entity_id=deal.pk, fields={"stage": "lead"}
    )
    Notification.objects.create(
        user=alice, type="deal_update", title="Fleet telematics moved", run=run
    )
    ActionItem.objects.create(user=alice, title="Call Maya", run=run)
    Event.objects.create(user=alice, event="run_finished", data={"run": run.pk})


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_model_of_the_project_has_an_admin():
    unregistered = [
        model for model in PROJECT_MODELS if not admin.site.is_registered(model)
    ]

    assert PROJECT_MODELS
    assert unregistered == []


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model.__name__)
def test_the_list_of_every_model_opens_for_an_operator(
    operator, one_of_everything, model
):
    response = operator.get(changelist(model))

    assert response.status_code == 200


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model.__name__)
def test_the_list_of_every_model_can_be_searched(operator, one_of_everything, model):
    response = operator.get(changelist(model), {"q": "alice"})

    assert response.status_code == 200


def test_the_worker_state_list_shows_who_holds_a_lease(operator, one_of_everything):
    response = operator.get(changelist(OverviewWorkerState))

    assert b"alice" in response.content
    assert b"icon-yes.svg" in response.content


def test_the_run_list_shows_the_first_line_of_the_error(operator, one_of_everything):
    response = operator.get(changelist(OverviewRun))

    assert b"Ollama is not reachable" in response.content
    assert b"Traceback" not in response.content
    assert b"1.2 s" in response.content


def test_a_run_cannot_be_added_by_hand(operator):
    response = operator.get(reverse("admin:overview_overviewrun_add"))

    assert response.status_code == 403


def test_a_run_can_be_read_but_not_changed(operator, one_of_everything):
    run = OverviewRun.objects.get()
    url = reverse("admin:overview_overviewrun_change", args=[run.pk])

    page = operator.get(url)
    posted = operator.post(url, {"trigger": "manual"})

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert posted.status_code == 403


def test_deleting_a_user_also_deletes_their_records(operator, alice, one_of_everything):
    url = reverse("admin:auth_user_delete", args=[alice.pk])

    response = operator.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not OverviewRun.objects.exists()
    assert not Event.objects.exists()


def test_a_deal_list_can_show_only_deleted_deals(operator, alice):
    Deal.objects.create(user=alice, title="Live deal")
    Deal.objects.create(user=alice, title="Gone deal", deleted_at=timezone.now())

    response = operator.get(changelist(Deal), {"state": "deleted"})

    assert b"Gone deal" in response.content
    assert b"Live deal" not in response.content


def test_an_unused_uuid_search_does_not_fail(operator):
    response = operator.get(changelist(EntitySnapshot), {"q": str(uuid.uuid4())})

    assert response.status_code == 200
