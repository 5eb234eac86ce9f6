"""Analysis: what the changes of one run mean, from Ollama or from the rules.

``choose_analyzer`` reads ``OVERVIEW_ANALYZER``: ``rules``, ``ollama``, or
``auto``, which asks Ollama whether it answers and has the model, and falls
back to the rules when it does not, saying so in the log and on the run.
"""

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from overview.analysis.rules import RulesAnalyzer
from overview.analysis.schema import Analysis
from overview.changes import Changes

logger = logging.getLogger(__name__)

# How long the answer to "is Ollama there?" is trusted before asking again.
PROBE_TTL = 60.0


class Analyzer(Protocol):
    name: str
    model: str

    def analyze(self, changes: Changes) -> Analysis: ...


@dataclass(frozen=True)
class Choice:
    analyzer: Analyzer
    # Why the analyzer is not the one asked for, when it is a fallback.
    note: str = ""


_probe: tuple[float, str, str, bool] | None = None


def _ollama_ready(host: str, model: str) -> bool:
    global _probe
    from overview.analysis.ollama import ollama_available

    now = time.monotonic()
    if _probe is not None:
        checked_at, probed_host, probed_model, ready = _probe
        if (probed_host, probed_model) == (
            host,
            model,
        ) and now - checked_at < PROBE_TTL:
            return ready
    ready = ollama_available(host, model)
    if not ready and (_probe is None or _probe[3]):
        logger.warning(
            "Ollama at %s does not answer or lacks %s; analysing with the rules",
            host,
            model,
        )
    _probe = (now, host, model, ready)
    return ready


def forget_probe() -> None:
    global _probe
    _probe = None


def choose_analyzer() -> Choice:
    mode = settings.OVERVIEW_ANALYZER
    if mode == "rules":
        return Choice(RulesAnalyzer())

    from overview.analysis.ollama import OllamaAnalyzer

    if mode == "ollama":
        return Choice(OllamaAnalyzer())
    if _ollama_ready(settings.OLLAMA_HOST, settings.OLLAMA_MODEL):
        return Choice(OllamaAnalyzer())
    return Choice(
        RulesAnalyzer(),
        note=(
            f"Ollama at {settings.OLLAMA_HOST} did not answer or has no "
            f"{settings.OLLAMA_MODEL}; the rules analysed this run."
        ),
    )
