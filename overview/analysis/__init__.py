"""Analysis: what the changes of one run mean, from Ollama or from the rules.

``choose_analyzer`` reads ``OVERVIEW_ANALYZER``: ``rules``, ``ollama``, or
``auto``, which asks Ollama whether it answers and has the model, and falls
back to the rules when it does not, saying why in the log and on the run.
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


@dataclass(frozen=True)
class _Probe:
    checked_at: float
    host: str
    model: str
    problem: str | None


_last_probe: _Probe | None = None


def _ollama_problem(host: str, model: str) -> str | None:
    """Why Ollama cannot analyse now, or None; asked at most once a minute."""
    global _last_probe
    from overview.analysis.ollama import ollama_unavailable_reason

    now = time.monotonic()
    probe = _last_probe
    if (
        probe is not None
        and (probe.host, probe.model) == (host, model)
        and now - probe.checked_at < PROBE_TTL
    ):
        return probe.problem

    problem = ollama_unavailable_reason(host, model)
    # Say it once when Ollama goes away, not on every run while it is gone.
    if problem and (probe is None or probe.problem is None):
        logger.warning("Analysing with the rules: %s", problem)
    elif problem is None and probe is not None and probe.problem:
        logger.info("Ollama at %s answers with %s again", host, model)
    _last_probe = _Probe(now, host, model, problem)
    return problem


def forget_probe() -> None:
    global _last_probe
    _last_probe = None


def choose_analyzer() -> Choice:
    mode = settings.OVERVIEW_ANALYZER
    if mode == "rules":
        return Choice(RulesAnalyzer())

    from overview.analysis.ollama import OllamaAnalyzer

    if mode == "ollama":
        return Choice(OllamaAnalyzer())
    problem = _ollama_problem(settings.OLLAMA_HOST, settings.OLLAMA_MODEL)
    if problem is None:
        return Choice(OllamaAnalyzer())
    note = f"{problem.rstrip('.')}. The rules analysed this run."
    return Choice(RulesAnalyzer(), note=note)
