import pytest

from overview.analysis import choose_analyzer, forget_probe
from tests.fake_ollama import closed_port_url


@pytest.fixture(autouse=True)
def fresh_probe():
    forget_probe()
    yield
    forget_probe()


def test_rules_mode_never_asks_ollama(settings, fake_ollama):
    settings.OVERVIEW_ANALYZER = "rules"
    settings.OLLAMA_HOST = fake_ollama.url

    assert choose_analyzer().analyzer.name == "rules"
    assert fake_ollama.received == []


def test_auto_uses_ollama_when_it_answers_and_has_the_model(settings, fake_ollama):
    settings.OVERVIEW_ANALYZER = "auto"
    settings.OLLAMA_HOST = fake_ollama.url

    choice = choose_analyzer()

    assert (choice.analyzer.name, choice.analyzer.model) == ("ollama", "mistral:latest")
    assert choice.note == ""


def test_auto_falls_back_to_the_rules_and_says_why(settings, caplog):
    settings.OVERVIEW_ANALYZER = "auto"
    settings.OLLAMA_HOST = closed_port_url()

    choice = choose_analyzer()

    assert choice.analyzer.name == "rules"
    assert "not reachable" in choice.note
    assert "Analysing with the rules" in caplog.text


def test_auto_falls_back_when_the_model_is_not_pulled(settings, fake_ollama):
    settings.OVERVIEW_ANALYZER = "auto"
    settings.OLLAMA_HOST = fake_ollama.url
    fake_ollama.models = {"llama3:latest"}

    choice = choose_analyzer()

    assert choice.analyzer.name == "rules"
    assert "ollama pull mistral:latest" in choice.note


def test_auto_asks_ollama_at_most_once_a_minute(settings, fake_ollama):
    settings.OVERVIEW_ANALYZER = "auto"
    settings.OLLAMA_HOST = fake_ollama.url

    for _ in range(3):
        choose_analyzer()

    assert len(fake_ollama.received) == 1
