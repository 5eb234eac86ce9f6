"""The dashboard page as the server renders it, before any script runs."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from crm.models import ForecastSnapshot
from notifications.models import ActionItem, Event, Notification
from overview import service
from overview.analysis.rules import RulesAnalyzer
from overview.models import OverviewRun
from overview.run import run_overview
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def dashboard(user):
    response = signed_in(user).get("/")
    assert response.status_code == 200
    return response


def html_of(user, path="/"):
    response = signed_in(user).get(path)
    assert response.status_code == 200
    return response.content.decode()


def this_month() -> datetime.date:
    return timezone.localdate()


# Signing in and out


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_signing_in_leads_to_the_dashboard(client, alice):
    form = client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password"}
    )

    assert form.status_code == 200
    assert b"Sign in" in form.content
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "nope"}
    )

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_signing_out_takes_a_post_and_leads_back_to_sign_in(alice):
    client = signed_in(alice)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_the_parts_the_page_reloads_need_a_signed_in_user(client):
    for path in ("/dashboard/worker-status/", "/dashboard/changes/"):
        response = client.get(path)

        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# The forecast


def test_it_shows_the_forecast_of_the_users_open_deals(alice, bob):
    factories.deal(
        alice,
        value=Decimal("100000"),
        probability=50,
        expected_close_date=this_month(),
    )
    factories.deal(alice, value=Decimal("40000"), probability=25)
    factories.deal(
        alice,
        value=Decimal("30000"),
        stage="closed_won",
        probability=100,
        expected_close_date=this_month(),
    )
    factories.deal(bob, value=Decimal("999000"))

    html = html_of(alice)

    assert 'data-figure="total_pipeline">140,000<' in html
    assert 'data-figure="weighted_forecast">60,000<' in html
    assert 'data-figure="closing_this_month">100,000<' in html
    assert 'data-figure="closing_this_month_count">1<' in html
    assert 'data-figure="won_this_month">30,000<' in html
    assert 'data-figure="open_deals">2<' in html


def snapshot(user, weighted, days_ago=0):
    return ForecastSnapshot.objects.create(
        user=user,
        total_pipeline=Decimal("10000"),
        weighted_forecast=Decimal(weighted),
        closing_this_month=Decimal("0"),
        closing_this_month_count=0,
        won_this_month=Decimal("0"),
        open_deals=2,
        created_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def test_the_chart_is_drawn_from_the_users_snapshots_oldest_first(alice, bob):
    snapshot(alice, "5000", days_ago=1)
    snapshot(alice, "3000", days_ago=3)
    snapshot(alice, "4000", days_ago=2)
    snapshot(bob, "1")

    history = dashboard(alice).context["client_config"]["history"]

    assert [point["weighted_forecast"] for point in history] == [
        "3000.00",
        "4000.00",
        "5000.00",
    ]


# Action items and notifications


def test_it_lists_the_open_action_items_and_no_others(alice, bob):
    ActionItem.objects.create(user=alice, title="Call Globex about renewal")
    ActionItem.objects.create(user=alice, title="Dismissed one", dismissed=True)
    ActionItem.objects.create(
        user=alice, title="Retired one", retired_at=timezone.now()
    )
    ActionItem.objects.create(user=bob, title="Bob's own item")

    html = html_of(alice)

    assert "Call Globex about renewal" in html
    assert "Dismissed one" not in html
    assert "Retired one" not in html
    assert "Bob&#x27;s own item" not in html
    assert "data-item-count>1<" in html


def test_unread_notifications_come_first_with_their_count(alice, bob):
    now = timezone.now()
    Notification.objects.create(
        user=alice, type="deal_update", title="Read and new", read_at=now
    )
    Notification.objects.create(
        user=alice,
        type="at_risk_alert",
        title="Unread and older",
        created_at=now - datetime.timedelta(hours=2),
    )
    Notification.objects.create(user=bob, type="deal_update", title="Bob's news")

    html = html_of(alice)

    assert html.index("Unread and older") < html.index("Read and new")
    assert "Bob&#x27;s news" not in html
    assert "data-unread-count>1<" in html


# Escaping


def test_hostile_titles_from_the_crm_and_the_model_are_shown_as_text(alice):
    service.enable(alice)
    factories.deal(alice, title=HOSTILE, company=HOSTILE)
    Notification.objects.create(
        user=alice, type="ai_insight", title=HOSTILE, message=HOSTILE
    )
    ActionItem.objects.create(user=alice, title=HOSTILE)

    html = html_of(alice)

    assert HOSTILE not in html
    assert "<img" not in html
    # The action item, the notification's title and message, and the deal
    # among the pending changes.
    assert html.count(ESCAPED) >= 4


# Live updates


def test_live_updates_resume_after_the_users_newest_event(alice, bob):
    Event.objects.create(user=alice, event="notification")
    newest = Event.objects.create(user=alice, event="run_finished")
    Event.objects.create(user=bob, event="notification")

    config = dashboard(alice).context["client_config"]

    assert config["lastEventId"] == newest.pk
    assert config["urls"]["events"] == "/ws/events/"


def test_a_user_without_events_resumes_from_the_start(alice):
    assert dashboard(alice).context["client_config"]["lastEventId"] == 0


def test_every_script_and_style_comes_from_the_project(alice):
    html = html_of(alice)

    assert 'src="/static/dashboard/dashboard.js"' in html
    assert 'href="/static/dashboard/dashboard.css"' in html
    assert 'src="http' not in html and 'href="http' not in html
    assert 'src="//' not in html and 'href="//' not in html
    assert finders.find("dashboard/dashboard.js")
    assert finders.find("dashboard/dashboard.css")


# The worker panel


def test_a_user_who_never_turned_the_worker_on_sees_it_off(alice):
    html = html_of(alice)

    assert "Not set up" in html
    assert "data-worker-toggle>" in html
    assert "Turn the worker on" in html


def test_the_panel_shows_the_cooldown_and_the_next_run(alice):
    service.enable(alice, cooldown_period=300, observers=["deals"])

    html = html_of(alice)

    assert "every 5 min" in html
    assert "data-worker-toggle checked" in html
    assert 'value="300"' in html
    assert 'value="deals" checked' in html
    assert 'value="contacts">' in html
    assert 'data-relative="future"' in html


def test_the_panel_shows_what_the_last_run_saw_and_did(alice):
    state = service.enable(alice)
    deal = factories.deal(alice, title="Globex renewal", stage="negotiation")
    run_overview(state, analyzer=RulesAnalyzer())
    deal.stage = "closed_won"
    deal.save()
    run_overview(state, analyzer=RulesAnalyzer())

    html = html_of(alice, "/dashboard/worker-status/")

    assert "Succeeded" in html
    assert "Analysed by rules" in html
    assert "<strong>1</strong> deals" in html
    assert "Notified you" in html
    assert "Deal won: Globex renewal" in html
    assert "Updated the forecast" in html


def test_the_panel_shows_why_the_last_run_failed(alice):
    service.enable(alice)
    now = timezone.now()
    OverviewRun.objects.create(
        user=alice,
        outcome="failed",
        window_start=now,
        window_end=now,
        error="Ollama is not reachable at http://127.0.0.1:11434",
    )

    html = html_of(alice)

    assert "Failed" in html
    assert "Ollama is not reachable at http://127.0.0.1:11434" in html


# Pending changes


def test_pending_changes_say_field_by_field_what_moved(alice):
    deal = factories.deal(
        alice, title="Initech expansion", stage="proposal", value=Decimal("50000")
    )
    service.enable(alice)
    deal.stage = "negotiation"
    deal.value = Decimal("80000")
    deal.save()

    html = html_of(alice, "/dashboard/changes/")

    assert "Initech expansion" in html
    assert "stage proposal → negotiation" in html
    assert "value 50,000 → 80,000" in html


def test_pending_changes_mark_what_is_new_and_leave_out_the_unobserved(alice):
    service.enable(alice, observers=["deals"])
    factories.deal(alice, title="Fresh lead", stage="lead", value=Decimal("12000"))
    factories.contact(alice, name="Unobserved contact")

    html = html_of(alice, "/dashboard/changes/")

    assert "Fresh lead" in html
    assert "pill-new" in html
    assert "lead · 12,000 USD" in html
    assert "Unobserved contact" not in html


def test_pending_changes_start_at_the_watermark(alice):
    state = service.enable(alice)
    factories.deal(alice, title="Seen by the last run")
    run_overview(state, analyzer=RulesAnalyzer())

    html = html_of(alice, "/dashboard/changes/")

    assert "Seen by the last run" not in html
    assert "Nothing has changed since the last run." in html
