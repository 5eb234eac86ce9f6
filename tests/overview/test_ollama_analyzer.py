"""The Ollama analyzer, talking through the real client to a fake Ollama server."""

import json
import logging
from typing import Any

import pytest

from overview.analysis.errors import (
    AnalysisError,
    InvalidReply,
    ModelUnavailable,
    OllamaStatusError,
    OllamaTimeout,
    OllamaUnreachable,
    ReplyTruncated,
)
from overview.analysis.ollama import (
    OllamaAnalyzer,
    ollama_available,
    ollama_unavailable_reason,
)
from overview.analysis.prompt import FENCE_OPEN, SYSTEM_PROMPT
from overview.analysis.schema import AddActionItem, Analysis, json_schema
from overview.changes import Changes
from tests.fake_ollama import FakeOllama, closed_port_url
from tests.overview import factories as make

DEAL_ID = "0d3a6b1e-5f7c-4e0a-9c6b-2f1d8e7a4b10"


@pytest.fixture
def changes() -> Changes:
    return make.changes(
        make.deal(entity_id=DEAL_ID, moved={"stage": ("proposal", "negotiation")})
    )


def analyzer_for(fake: FakeOllama, **options: Any) -> OllamaAnalyzer:
    return OllamaAnalyzer(host=fake.url, model="mistral:latest", **options)


def good_analysis(**sections: Any) -> dict[str, Any]:
    analysis = {
        "forecast_impact": {"should_update": True, "reason": "Acme moved stage"},
        "action_items": [
            {
                "action": "add",
                "icon": "phone",
                "title": "Call Jane about the Acme renewal",
                "item_type": "task",
            }
        ],
        "notifications": [
            {
                "type": "deal_update",
                "priority": "high",
                "title": "Acme in negotiation",
                "message": "The renewal moved to negotiation.",
            }
        ],
        "insights": [
            {
                "entity_type": "deal",
                "entity_id": DEAL_ID,
                "insight": "Negotiation started two weeks early.",
            }
        ],
    }
    return {**analysis, **sections}


def test_a_json_reply_becomes_an_analysis(fake_ollama, changes) -> None:
    fake_ollama.reply_json(good_analysis())

    analysis = analyzer_for(fake_ollama).analyze(changes)

    assert analysis == Analysis.model_validate(good_analysis())
    assert len(fake_ollama.chats) == 1


def test_the_request_carries_the_schema_the_model_and_a_low_temperature(
    fake_ollama, changes
) -> None:
    fake_ollama.reply_json(good_analysis())

    analyzer_for(fake_ollama).analyze(changes)

    (request,) = fake_ollama.chats
    assert request["model"] == "mistral:latest"
    assert request["format"] == json_schema()
    assert request["options"] == {"temperature": 0.2}
    assert request["stream"] is False
    system, user = request["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert FENCE_OPEN in user["content"]
    assert "stage: proposal -> negotiation" in user["content"]


def test_a_json_reply_wrapped_in_markdown_is_read(fake_ollama, changes) -> None:
    fake_ollama.reply("```json\n" + json.dumps(good_analysis()) + "\n```")

    analysis = analyzer_for(fake_ollama).analyze(changes)

    assert analysis.forecast_impact.should_update is True
    assert len(fake_ollama.chats) == 1


def test_a_reply_in_the_tag_format_is_read(fake_ollama, changes) -> None:
    fake_ollama.reply(
        "<forecast_update_needed>true</forecast_update_needed>\n"
        "<forecast_update_reason>Acme moved stage</forecast_update_reason>\n"
        "<action_items>\nADD: phone|Call Jane about Acme|task\n</action_items>\n"
        "<notifications>\ndeal_update|high|Acme moved|Now in negotiation.\n"
        "</notifications>\n"
        f"<insights>\ndeal|{DEAL_ID}|Negotiation started early.\n</insights>"
    )

    analysis = analyzer_for(fake_ollama).analyze(changes)

    assert analysis.forecast_impact.should_update is True
    assert analysis.additions == [
        AddActionItem(
            action="add", icon="phone", title="Call Jane about Acme", item_type="task"
        )
    ]
    assert [n.title for n in analysis.notifications] == ["Acme moved"]
    assert [i.entity_id for i in analysis.insights] == [DEAL_ID]


def test_a_garbled_reply_is_answered_once_with_what_was_wrong(
    fake_ollama, changes
) -> None:
    fake_ollama.reply("Sure! The forecast looks fine to me.")
    fake_ollama.reply_json(good_analysis())

    analysis = analyzer_for(fake_ollama).analyze(changes)

    assert analysis == Analysis.model_validate(good_analysis())
    first, second = fake_ollama.chats
    assert second["messages"][:2] == first["messages"]
    assistant, correction = second["messages"][2:]
    assert assistant == {
        "role": "assistant",
        "content": "Sure! The forecast looks fine to me.",
    }
    assert correction["role"] == "user"
    assert "the reply is not valid JSON" in correction["content"]


def test_a_reply_with_no_section_is_corrected_too(fake_ollama, changes) -> None:
    fake_ollama.reply_json({"verdict": "fine"})
    fake_ollama.reply_json(good_analysis())

    analyzer_for(fake_ollama).analyze(changes)

    correction = fake_ollama.chats[1]["messages"][-1]["content"]
    assert "the reply has none of the sections" in correction


def test_two_garbled_replies_raise_invalid_reply(fake_ollama, changes) -> None:
    fake_ollama.reply("not an analysis")
    fake_ollama.reply("[1, 2, 3]")

    with pytest.raises(InvalidReply, match="must be a JSON object") as raised:
        analyzer_for(fake_ollama).analyze(changes)

    assert raised.value.retryable is False
    assert len(fake_ollama.chats) == 2


def test_an_insight_about_an_entity_outside_the_changes_is_dropped(
    fake_ollama, changes, caplog
) -> None:
    stranger = {"entity_type": "deal", "entity_id": "someone-else", "insight": "Hm."}
    fake_ollama.reply_json(
        good_analysis(insights=[*good_analysis()["insights"], stranger])
    )

    with caplog.at_level(logging.WARNING):
        analysis = analyzer_for(fake_ollama).analyze(changes)

    assert [i.entity_id for i in analysis.insights] == [DEAL_ID]
    assert "insight about deal someone-else" in caplog.text


def test_items_outside_the_schema_are_dropped_with_a_warning(
    fake_ollama, changes, caplog
) -> None:
    fake_ollama.reply_json(
        good_analysis(
            notifications=[
                {"type": "spam", "priority": "high", "title": "Buy now"},
                {"type": "deal_update", "priority": "urgent", "title": "Hurry"},
                {"type": "ai_insight", "priority": "low", "title": "T" * 201},
                {"type": "task_due", "priority": "low", "title": "Call Jane"},
            ],
            action_items=[
                {"action": "remove", "pattern": "ab"},
                {"action": "remove", "pattern": "Prepare Acme proposal"},
            ],
        )
    )

    with caplog.at_level(logging.WARNING):
        analysis = analyzer_for(fake_ollama).analyze(changes)

    assert [n.title for n in analysis.notifications] == ["Call Jane"]
    assert [r.pattern for r in analysis.removals] == ["Prepare Acme proposal"]
    assert "Dropped notifications[0]" in caplog.text
    assert "Dropped notifications[1]" in caplog.text
    assert "Dropped notifications[2]" in caplog.text
    assert "Dropped action_items[0]" in caplog.text
    assert len(fake_ollama.chats) == 1


def test_an_unreachable_host_raises_ollama_unreachable(changes) -> None:
    host = closed_port_url()

    with pytest.raises(OllamaUnreachable) as raised:
        OllamaAnalyzer(host=host, timeout=2).analyze(changes)

    assert str(raised.value).startswith(f"Ollama is not reachable at {host}: ")
    assert "refused" in str(raised.value).lower()
    assert raised.value.retryable is True


def test_a_missing_model_raises_model_unavailable_with_the_pull_hint(
    fake_ollama, changes
) -> None:
    fake_ollama.models = {"llama3.2:latest"}

    with pytest.raises(ModelUnavailable) as raised:
        analyzer_for(fake_ollama).analyze(changes)

    assert "ollama pull mistral:latest" in str(raised.value)
    assert raised.value.retryable is False


def test_a_slow_answer_raises_ollama_timeout(fake_ollama, changes) -> None:
    fake_ollama.reply_json(good_analysis(), delay=3)

    with pytest.raises(OllamaTimeout, match=r"did not answer within 0\.5 seconds"):
        analyzer_for(fake_ollama, timeout=0.5).analyze(changes)


def test_a_reply_cut_at_the_length_limit_raises_reply_truncated(
    fake_ollama, changes
) -> None:
    fake_ollama.reply('{"forecast_impact": {"should_upd', done_reason="length")

    with pytest.raises(ReplyTruncated, match="length limit"):
        analyzer_for(fake_ollama).analyze(changes)

    assert len(fake_ollama.chats) == 1


def test_a_server_error_is_worth_retrying(fake_ollama, changes) -> None:
    fake_ollama.fail(500, "llama runner process has terminated")

    with pytest.raises(OllamaStatusError) as raised:
        analyzer_for(fake_ollama).analyze(changes)

    assert str(raised.value) == (
        f"Ollama at {fake_ollama.url} answered 500: llama runner process has terminated"
    )
    assert raised.value.retryable is True


def test_a_rejected_request_is_not_worth_retrying(fake_ollama, changes) -> None:
    fake_ollama.fail(400, "invalid format")

    with pytest.raises(OllamaStatusError) as raised:
        analyzer_for(fake_ollama).analyze(changes)

    assert raised.value.status == 400
    assert raised.value.retryable is False


def test_a_server_that_is_not_ollama_is_not_mistaken_for_a_missing_model(
    fake_ollama, changes
) -> None:
    with pytest.raises(OllamaStatusError) as raised:
        OllamaAnalyzer(host=f"{fake_ollama.url}/elsewhere").analyze(changes)

    assert raised.value.status == 404
    assert "404 page not found" in str(raised.value)


def test_an_address_that_is_not_one_is_said_so(changes) -> None:
    with pytest.raises(AnalysisError, match="not a valid address for Ollama"):
        OllamaAnalyzer(host="http://ollama:port").analyze(changes)


def test_no_changes_make_no_request(fake_ollama) -> None:
    analysis = analyzer_for(fake_ollama).analyze(make.no_changes())

    assert analysis == Analysis.nothing()
    assert fake_ollama.received == []


def test_the_defaults_come_from_the_settings(settings) -> None:
    settings.OLLAMA_HOST = "http://ollama.internal:11434"
    settings.OLLAMA_MODEL = "mistral:7b"
    settings.OLLAMA_TIMEOUT = 42.0

    analyzer = OllamaAnalyzer()

    assert (analyzer.name, analyzer.host, analyzer.model, analyzer.timeout) == (
        "ollama",
        "http://ollama.internal:11434",
        "mistral:7b",
        42.0,
    )


def test_ollama_is_available_when_it_answers_and_has_the_model(fake_ollama) -> None:
    assert ollama_available(fake_ollama.url, "mistral:latest") is True
    assert ollama_available(fake_ollama.url, "mistral") is True
    assert [r.path for r in fake_ollama.received] == ["/api/tags", "/api/tags"]


def test_ollama_is_unavailable_without_the_model(fake_ollama) -> None:
    fake_ollama.models = {"llama3.2:latest"}

    assert ollama_available(fake_ollama.url, "mistral:latest") is False
    assert "ollama pull mistral:latest" in str(
        ollama_unavailable_reason(fake_ollama.url, "mistral:latest")
    )


def test_ollama_is_unavailable_when_nothing_listens() -> None:
    host = closed_port_url()

    assert ollama_available(host, "mistral:latest") is False
    assert str(ollama_unavailable_reason(host, "mistral:latest")).startswith(
        f"Ollama is not reachable at {host}"
    )
