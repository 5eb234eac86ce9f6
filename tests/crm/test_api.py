import datetime

import pytest
from django.utils import timezone

from crm.models import Deal
from tests import factories
from tests.api import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    return client_for(alice)


def test_it_refuses_a_caller_without_credentials(client):
    response = client.get("/api/deals")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_a_token_from_username_and_password_authenticates(alice, client):
    response = client.post(
        "/api/auth/token", {"username": "alice", "password": "alice-password"}
    )
    token = response.json()["token"]

    listed = client.get("/api/deals", HTTP_AUTHORIZATION=f"Token {token}")

    assert listed.status_code == 200


def test_a_wrong_password_gets_a_400_and_no_token(alice, client):
    response = client.post("/api/auth/token", {"username": "alice", "password": "x"})

    assert response.status_code == 400
    assert "token" not in response.json()


def test_it_creates_a_deal_for_the_caller(api, alice):
    response = api.post(
        "/api/deals",
        {
            "title": "Globex",
            "value": "120000.00",
            "stage": "proposal",
            "probability": 40,
        },
        format="json",
    )

    assert response.status_code == 201
    deal = Deal.objects.get(pk=response.json()["id"])
    assert (deal.user, deal.title, deal.value) == (alice, "Globex", 120000)


def test_each_path_answers_with_and_without_a_trailing_slash(api):
    assert api.get("/api/deals").status_code == 200
    assert api.get("/api/deals/").status_code == 200


def test_it_lists_only_the_callers_rows(api, alice, bob):
    factories.deal(alice, title="Mine")
    factories.deal(bob, title="Theirs")

    titles = [deal["title"] for deal in api.get("/api/deals").json()["results"]]

    assert titles == ["Mine"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_users_deal_answers_404(api, bob, method):
    deal = factories.deal(bob)

    response = getattr(api, method)(f"/api/deals/{deal.pk}", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found.", "code": "not_found"}


def test_deleting_soft_deletes_so_the_worker_sees_it(api, alice):
    deal = factories.deal(alice)

    assert api.delete(f"/api/deals/{deal.pk}").status_code == 204

    deal.refresh_from_db()
    assert deal.deleted_at is not None
    assert api.get(f"/api/deals/{deal.pk}").status_code == 404
    assert api.get("/api/deals").json()["count"] == 0


def test_a_deal_cannot_point_at_another_users_contact(api, bob):
    contact = factories.contact(bob)

    response = api.post(
        "/api/deals", {"title": "X", "contact": str(contact.pk)}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["contact"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "X", "probability": 101}, "probability"),
        ({"title": "X", "probability": "high"}, "probability"),
        ({"title": "X", "value": "-5"}, "value"),
        ({"title": "X", "stage": "won"}, "stage"),
        ({"title": "X", "expected_close_date": "soon"}, "expected_close_date"),
        ({"title": "X", "colour": "red"}, "colour"),
        ({"value": "10"}, "title"),
    ],
)
def test_bad_deal_input_gets_a_400_naming_the_field(api, body, field):
    response = api.post("/api/deals", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid input."
    assert field in response.json()["fields"]


def test_a_json_body_that_is_not_an_object_gets_a_400(api):
    response = api.post("/api/deals", [1, 2], format="json")

    assert response.status_code == 400


def test_a_malformed_json_body_gets_a_400(api):
    response = api.post("/api/deals", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_deals_filter_by_stage_and_updated_since(api, alice):
    factories.deal(alice, title="Old proposal", stage="proposal")
    Deal.objects.filter(title="Old proposal").update(
        updated_at=timezone.now() - datetime.timedelta(days=3)
    )
    factories.deal(alice, title="New proposal", stage="proposal")
    factories.deal(alice, title="New lead", stage="lead")
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()

    response = api.get("/api/deals", {"stage": "proposal", "updated_since": since})

    assert [d["title"] for d in response.json()["results"]] == ["New proposal"]


def test_an_unknown_stage_filter_gets_a_400(api):
    response = api.get("/api/deals", {"stage": "won"})

    assert response.status_code == 400
    assert "stage" in response.json()["fields"]


def test_deals_order_by_value(api, alice):
    for value in (300, 100, 200):
        factories.deal(alice, title=f"V{value}", value=value)

    response = api.get("/api/deals", {"ordering": "-value"})

    assert [d["title"] for d in response.json()["results"]] == ["V300", "V200", "V100"]


def test_lists_are_paginated(api, alice):
    for n in range(3):
        factories.contact(alice, name=f"C{n}")

    page = api.get("/api/contacts", {"page_size": 2}).json()

    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_an_event_cannot_end_before_it_starts(api):
    start = timezone.now()

    response = api.post(
        "/api/events",
        {
            "title": "Demo",
            "start_time": start.isoformat(),
            "end_time": (start - datetime.timedelta(hours=1)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["end_time"]


def test_events_filter_by_status(api, alice):
    factories.event(alice, title="On", status="scheduled")
    factories.event(alice, title="Off", status="cancelled")

    response = api.get("/api/events", {"status": "cancelled"})

    assert [e["title"] for e in response.json()["results"]] == ["Off"]


def test_a_contact_update_moves_updated_at(api, alice):
    contact = factories.contact(alice, churn_risk="low")
    before = contact.updated_at

    response = api.patch(
        f"/api/contacts/{contact.pk}", {"churn_risk": "high"}, format="json"
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.churn_risk == "high" and contact.updated_at > before


@pytest.mark.parametrize(
    "since", ["0251-11-14T05:55:55+17:42", "0001-01-01T00:00:00+05:00", "yesterday"]
)
def test_an_odd_or_unreadable_updated_since_never_fails(api, alice, since):
    factories.deal(alice)

    response = api.get("/api/deals", {"updated_since": since})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "updated_since" in response.json()["fields"]
