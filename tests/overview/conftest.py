from typing import Any

import pytest

from overview import service
from overview.analysis.schema import Analysis
from overview.changes import Changes


class StaticAnalyzer:
    """Answers every run at once with the same analysis, and remembers the calls."""

    name = "static"
    model = "static-1"

    def __init__(self, analysis: Analysis | None = None, **sections: Any) -> None:
        self.analysis = analysis or Analysis.model_validate(sections)
        self.seen: list[Changes] = []

    def analyze(self, changes: Changes) -> Analysis:
        self.seen.append(changes)
        return self.analysis


@pytest.fixture(autouse=True)
def in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


@pytest.fixture
def state(alice):
    return service.enable(alice)


@pytest.fixture
def static_analyzer():
    return StaticAnalyzer()
