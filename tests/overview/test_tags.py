import logging

import pytest

from overview.analysis.schema import InvalidAnalysis
from overview.analysis.tags import parse_tags

PLAN_EXAMPLE = """\
<forecast_update_needed>true</forecast_update_needed>
<forecast_update_reason>Acme moved to negotiation</forecast_update_reason>

<action_items>
ADD: phone|Call Jane Doe about the Acme renewal|task
ADD: alert-triangle|Follow up with at-risk contact: Bob Stone|warning
REMOVE: Prepare Acme proposal
</action_items>

<notifications>
deal_update|high|Acme in negotiation|The renewal moved on and is now worth 80,000.
at_risk_alert|medium|Bob Stone at risk|Churn risk rose to high.
</notifications>

<insights>
deal|d-1|The renewal grew by 60% in one step.
contact|c-2|Health fell from 80 to 45 since last week.
</insights>
"""


def test_the_plan_format_becomes_the_json_shape() -> None:
    assert parse_tags(PLAN_EXAMPLE) == {
        "forecast_impact": {
            "should_update": True,
            "reason": "Acme moved to negotiation",
        },
        "action_items": [
            {
                "action": "add",
                "icon": "phone",
                "title": "Call Jane Doe about the Acme renewal",
                "item_type": "task",
            },
            {
                "action": "add",
                "icon": "alert-triangle",
                "title": "Follow up with at-risk contact: Bob Stone",
                "item_type": "warning",
            },
            {"action": "remove", "pattern": "Prepare Acme proposal"},
        ],
        "notifications": [
            {
                "type": "deal_update",
                "priority": "high",
                "title": "Acme in negotiation",
                "message": "The renewal moved on and is now worth 80,000.",
            },
            {
                "type": "at_risk_alert",
                "priority": "medium",
                "title": "Bob Stone at risk",
                "message": "Churn risk rose to high.",
            },
        ],
        "insights": [
            {
                "entity_type": "deal",
                "entity_id": "d-1",
                "insight": "The renewal grew by 60% in one step.",
            },
            {
                "entity_type": "contact",
                "entity_id": "c-2",
                "insight": "Health fell from 80 to 45 since last week.",
            },
        ],
    }


def test_sloppy_case_spacing_and_bullets_are_read() -> None:
    reply = """Here is my analysis:
    < Forecast_Update_Needed > Yes. </forecast_update_needed>
    <FORECAST_UPDATE_REASON>  New deal  </ forecast_update_reason>
    <action_items>
      - add :  Phone | Call Jane |  Task
      2. Remove:   stale item
    </ACTION_ITEMS>
    <notifications>
       * Deal_Update | HIGH |  Big deal  |  Worth a look | really
    </notifications >
    """

    raw = parse_tags(reply)

    assert raw["forecast_impact"] == {"should_update": True, "reason": "New deal"}
    assert raw["action_items"] == [
        {"action": "add", "icon": "phone", "title": "Call Jane", "item_type": "task"},
        {"action": "remove", "pattern": "stale item"},
    ]
    assert raw["notifications"] == [
        {
            "type": "deal_update",
            "priority": "high",
            "title": "Big deal",
            "message": "Worth a look | really",
        }
    ]


def test_missing_sections_are_empty() -> None:
    raw = parse_tags("<insights>\ndeal|d-1|Grew.\n</insights>")

    assert raw["forecast_impact"] == {"should_update": False, "reason": ""}
    assert raw["action_items"] == []
    assert raw["notifications"] == []
    assert raw["insights"] == [
        {"entity_type": "deal", "entity_id": "d-1", "insight": "Grew."}
    ]


def test_a_section_left_open_ends_at_the_next_tag() -> None:
    raw = parse_tags(
        "<action_items>\nREMOVE: Old call\n<notifications>\n"
        "task_due|low|Call due|Today\n"
    )

    assert raw["action_items"] == [{"action": "remove", "pattern": "Old call"}]
    assert raw["notifications"] == [
        {"type": "task_due", "priority": "low", "title": "Call due", "message": "Today"}
    ]


def test_short_add_lines_are_read_as_far_as_they_go() -> None:
    raw = parse_tags(
        "<action_items>\nADD: Call Jane|task\nADD: mail|Write to Bob\n"
        "ADD: Review pipeline\n</action_items>"
    )

    assert raw["action_items"] == [
        {"action": "add", "title": "Call Jane", "item_type": "task"},
        {"action": "add", "icon": "mail", "title": "Write to Bob"},
        {"action": "add", "title": "Review pipeline"},
    ]


def test_unreadable_lines_are_dropped_with_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        raw = parse_tags(
            "<action_items>\nCall someone\n</action_items>\n"
            "<insights>\ndeal only\n</insights>"
        )

    assert raw["action_items"] == []
    assert raw["insights"] == []
    assert "Ignored a line of action_items" in caplog.text
    assert "Ignored a line of insights" in caplog.text


def test_a_reply_without_any_tag_is_not_an_analysis() -> None:
    with pytest.raises(InvalidAnalysis, match="neither JSON nor the tag format"):
        parse_tags("I think the forecast is fine.")
