"""The rules analyzer, as a table of situations and what a manager expects."""

import pytest

from overview.analysis.rules import RulesAnalyzer
from tests.overview import factories as f

SCENARIOS = [
    pytest.param(
        f.deal(moved={"stage": ("negotiation", "closed_won")}, value="120000"),
        True,
        [("deal_update", "high", "Deal won: Acme renewal")],
        [],
        ["Acme renewal"],
        id="deal closed won",
    ),
    pytest.param(
        f.deal(moved={"stage": ("proposal", "closed_lost")}),
        True,
        [("deal_update", "medium", "Deal lost: Acme renewal")],
        [],
        ["Acme renewal"],
        id="deal closed lost",
    ),
    pytest.param(
        f.deal(moved={"stage": ("proposal", "negotiation")}),
        True,
        [("deal_update", "medium", "Acme renewal moved to negotiation")],
        ["Prepare the contract for: Acme renewal"],
        [],
        id="deal moved forward to negotiation",
    ),
    pytest.param(
        f.deal(moved={"stage": ("negotiation", "qualified")}),
        True,
        [("at_risk_alert", "medium", "Deal slipped: Acme renewal")],
        ["Review slipping deal: Acme renewal"],
        [],
        id="deal slipped back",
    ),
    pytest.param(
        f.deal(moved={"value": ("50000", "80000")}),
        True,
        [("deal_update", "medium", "Acme renewal: value 50,000 -> 80,000")],
        [],
        [],
        id="deal value rose markedly",
    ),
    pytest.param(
        f.deal(moved={"value": ("50000", "52000")}),
        False,
        [],
        [],
        [],
        id="deal value nudged",
    ),
    pytest.param(
        f.deal(moved={"probability": (30, 70)}),
        True,
        [("deal_update", "low", "Acme renewal: probability 30% -> 70%")],
        [],
        [],
        id="deal probability jumped",
    ),
    pytest.param(
        f.deal("new", title="Globex platform", value="150000", stage="qualified"),
        True,
        [("deal_update", "high", "New large deal: Globex platform")],
        ["Qualify new deal: Globex platform"],
        [],
        id="new large deal",
    ),
    pytest.param(
        f.deal("new", title="Small add-on", value="3000", stage="lead"),
        True,
        [],
        [],
        [],
        id="new small deal",
    ),
    pytest.param(
        f.deal("deleted"),
        True,
        [("deal_update", "low", "Deal removed: Acme renewal")],
        [],
        ["Acme renewal"],
        id="deal deleted",
    ),
    pytest.param(
        f.deal(moved={"expected_close_date": ("2025-03-28", "2025-05-02")}),
        True,
        [("deal_update", "low", "Close date pushed: Acme renewal")],
        [],
        [],
        id="close date pushed out",
    ),
    pytest.param(
        f.contact(moved={"churn_risk": ("medium", "high")}),
        False,
        [("at_risk_alert", "high", "Jane Doe is at risk")],
        ["Follow up with at-risk contact: Jane Doe"],
        [],
        id="churn risk rose to high",
    ),
    pytest.param(
        f.contact(moved={"health_score": (85, 55)}),
        False,
        [("at_risk_alert", "medium", "Jane Doe is at risk")],
        ["Follow up with at-risk contact: Jane Doe"],
        [],
        id="health fell sharply",
    ),
    pytest.param(
        f.contact(moved={"churn_risk": ("high", "low")}),
        False,
        [("ai_insight", "low", "Jane Doe is no longer at high risk")],
        [],
        ["Follow up with at-risk contact: Jane Doe"],
        id="churn risk recovered",
    ),
    pytest.param(
        f.contact(moved={"name": ("Jane Roe", "Jane Doe")}),
        False,
        [],
        [],
        [],
        id="contact renamed",
    ),
    pytest.param(
        f.event(moved={"status": ("scheduled", "cancelled")}),
        False,
        [("task_due", "medium", "Cancelled: Acme quarterly review")],
        ["Reschedule Acme quarterly review"],
        [],
        id="meeting cancelled",
    ),
    pytest.param(
        f.event(
            moved={
                "status": ("scheduled", "rescheduled"),
                "start_time": (
                    "2025-03-20T14:00:00+00:00",
                    "2025-03-27T14:00:00+00:00",
                ),
            }
        ),
        False,
        [("task_due", "low", "Rescheduled: Acme quarterly review")],
        [],
        ["Reschedule Acme quarterly review"],
        id="meeting rescheduled",
    ),
    pytest.param(
        f.event(moved={"status": ("scheduled", "completed")}, type="demo"),
        False,
        [],
        ["Send a follow-up after Acme quarterly review"],
        ["Prepare for Acme quarterly review", "Reschedule Acme quarterly review"],
        id="demo completed",
    ),
    pytest.param(
        f.event("new", start_time="2025-03-15T10:00:00+00:00", type="demo"),
        False,
        [("task_due", "medium", "Coming up: Acme quarterly review")],
        ["Prepare for Acme quarterly review"],
        [],
        id="demo booked for tomorrow",
    ),
]


@pytest.mark.parametrize(
    ("change", "forecast", "notifications", "added", "removed"), SCENARIOS
)
def test_the_rules_answer_each_situation_as_a_manager_would(
    change, forecast, notifications, added, removed
):
    analysis = RulesAnalyzer().analyze(f.changes(change))

    assert analysis.forecast_impact.should_update is forecast
    assert [(n.type, n.priority, n.title) for n in analysis.notifications] == (
        notifications
    )
    assert [item.title for item in analysis.additions] == added
    assert [item.pattern for item in analysis.removals] == removed


def test_the_rules_name_only_entities_of_the_change_set():
    change = f.contact(moved={"churn_risk": ("low", "high")})

    analysis = RulesAnalyzer().analyze(f.changes(change))

    assert [(i.entity_type, i.entity_id) for i in analysis.insights] == [
        ("contact", change.entity_id)
    ]


def test_the_rules_say_nothing_about_no_changes():
    analysis = RulesAnalyzer().analyze(f.no_changes())

    assert analysis.notifications == [] and analysis.action_items == []
    assert analysis.forecast_impact.should_update is False


def test_a_rescheduled_meeting_says_its_new_time_as_a_person_reads_it():
    change = f.event(
        moved={
            "status": ("scheduled", "rescheduled"),
            "start_time": ("2025-03-20T14:00:00+00:00", "2025-03-27T14:00:00+00:00"),
        }
    )

    (notification,) = RulesAnalyzer().analyze(f.changes(change)).notifications

    assert notification.message.endswith("now starts on Thu 27 Mar at 14:00 UTC.")
