"""The Ollama analyzer: a local model reads the changes and says what they mean.

The model is asked for JSON that matches the analysis schema; a reply in the
older tag format is read too. A reply that is neither is answered once with
what was wrong, and a second bad reply fails the analysis. Every way the call
can fail becomes an AnalysisError that says what happened and whether a later
attempt may work.
"""

import json
import logging
import re
import time
from typing import Any

import httpx
import ollama
from django.conf import settings

from overview.analysis.errors import (
    AnalysisError,
    InvalidReply,
    ModelUnavailable,
    OllamaStatusError,
    OllamaTimeout,
    OllamaUnreachable,
    ReplyTruncated,
)
from overview.analysis.prompt import build_messages, retry_message
from overview.analysis.schema import (
    Analysis,
    InvalidAnalysis,
    json_schema,
    validate_analysis,
)
from overview.analysis.tags import parse_tags
from overview.changes import Changes

logger = logging.getLogger(__name__)

# Low enough that the same changes get much the same analysis, with a little
# room left for the wording.
TEMPERATURE = 0.2

# What a call through the ollama client can raise when the server is missing,
# slow, failing or not Ollama at all. ValueError covers a body that is not
# JSON or not shaped like Ollama's (pydantic's ValidationError is one).
CALL_FAILURES = (
    ConnectionError,
    httpx.HTTPError,
    httpx.InvalidURL,
    ollama.RequestError,
    ollama.ResponseError,
    ValueError,
)

MARKDOWN_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL | re.IGNORECASE)


def _model_missing(host: str, model: str, detail: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"Ollama at {host} does not have the model {model} ({detail});"
        f" pull it with `ollama pull {model}`"
    )


def _failure(error: Exception, host: str, model: str, timeout: float) -> AnalysisError:
    """The AnalysisError that explains ``error``, raised by a call to Ollama."""
    if isinstance(error, ConnectionError):
        # The client replaces httpx's ConnectError with a generic message; the
        # original, which says "refused" or "name not known", is its context.
        detail = error.__context__ or error
        return OllamaUnreachable(f"Ollama is not reachable at {host}: {detail}")
    if isinstance(error, httpx.ConnectTimeout):
        return OllamaUnreachable(
            f"Ollama is not reachable at {host}: no connection within {timeout:g}"
            " seconds"
        )
    if isinstance(error, httpx.TimeoutException):
        return OllamaTimeout(f"Ollama did not answer within {timeout:g} seconds")
    if isinstance(error, httpx.TransportError):
        return OllamaUnreachable(f"Ollama at {host} dropped the connection: {error}")
    if isinstance(error, ollama.ResponseError):
        if error.status_code == 404 and "model" in str(error.error).lower():
            return _model_missing(host, model, str(error.error))
        return OllamaStatusError(
            f"Ollama at {host} answered {error.status_code}: {error.error}",
            error.status_code,
        )
    if isinstance(error, ollama.RequestError):
        return AnalysisError(f"The request to Ollama is not valid: {error.error}")
    # What is left is a body that is not JSON or not shaped like Ollama's.
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return AnalysisError(f"{host} does not answer like Ollama: {first_line}")


def _client(host: str, timeout: float) -> ollama.Client:
    try:
        return ollama.Client(host=host, timeout=timeout)
    except ValueError as error:
        raise AnalysisError(
            f"{host!r} is not a valid address for Ollama: {error}"
        ) from error


def _load_json(content: str) -> Any:
    text = content.strip()
    # Models that ignore the format parameter like to wrap JSON in Markdown.
    fenced = MARKDOWN_FENCE.fullmatch(text)
    if fenced is not None:
        text = fenced.group(1)
    if not text:
        raise InvalidAnalysis("the reply is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidAnalysis(
            f"the reply is not valid JSON: {error.msg} at line {error.lineno}"
            f" column {error.colno}"
        ) from error


def read_reply(content: str, changes: Changes) -> Analysis:
    """The analysis in ``content``, read as JSON or else in the tag format.

    Raises InvalidAnalysis, with the reason the JSON reading failed unless the
    reply was written in tags.
    """
    try:
        return validate_analysis(_load_json(content), changes)
    except InvalidAnalysis as error:
        json_error = error

    try:
        raw = parse_tags(content)
    except InvalidAnalysis:
        raise json_error from None
    return validate_analysis(raw, changes)


class OllamaAnalyzer:
    name = "ollama"

    def __init__(
        self,
        host: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.host: str = host or settings.OLLAMA_HOST
        self.model: str = model or settings.OLLAMA_MODEL
        self.timeout: float = (
            timeout if timeout is not None else settings.OLLAMA_TIMEOUT
        )

    def analyze(self, changes: Changes) -> Analysis:
        if not changes.has_changes:
            return Analysis.nothing()

        messages = build_messages(changes)
        logger.debug(
            "Prompt for %s: %d characters about %d changes",
            self.model,
            sum(len(message["content"]) for message in messages),
            len(changes.all) + changes.omitted,
        )

        with _client(self.host, self.timeout) as client:
            reply = self._chat(client, messages)
            try:
                return read_reply(reply, changes)
            except InvalidAnalysis as error:
                logger.warning(
                    "%s gave no usable analysis, asking once more: %s",
                    self.model,
                    error,
                )
                messages += [
                    {"role": "assistant", "content": reply},
                    retry_message(str(error)),
                ]

            reply = self._chat(client, messages)
            try:
                return read_reply(reply, changes)
            except InvalidAnalysis as error:
                raise InvalidReply(
                    f"{self.model} gave no usable analysis twice: {error}"
                ) from error

    def _chat(self, client: ollama.Client, messages: list[dict[str, str]]) -> str:
        started = time.monotonic()
        try:
            response = client.chat(
                model=self.model,
                messages=messages,
                format=json_schema(),
                options={"temperature": TEMPERATURE},
                stream=False,
            )
        except CALL_FAILURES as error:
            raise _failure(error, self.host, self.model, self.timeout) from error

        logger.info(
            "%s answered in %.2f s (%s prompt tokens, %s reply tokens, %s)",
            self.model,
            time.monotonic() - started,
            response.prompt_eval_count,
            response.eval_count,
            response.done_reason,
        )
        if response.done_reason == "length":
            raise ReplyTruncated(
                f"{self.model} reached its length limit after {response.eval_count}"
                " tokens, so the reply is cut short"
            )
        return response.message.content or ""


def _full_name(model: str) -> str:
    # Ollama tags a model pulled without a tag as "latest".
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def ollama_unavailable_reason(
    host: str | None = None, model: str | None = None, timeout: float = 2.0
) -> str | None:
    """Why Ollama cannot analyse now, or None when it answers and has the model."""
    host = host or settings.OLLAMA_HOST
    model = model or settings.OLLAMA_MODEL
    try:
        with _client(host, timeout) as client:
            installed = client.list().models
    except AnalysisError as error:
        return str(error)
    except CALL_FAILURES as error:
        return str(_failure(error, host, model, timeout))

    if _full_name(model) not in {_full_name(m.model) for m in installed if m.model}:
        return str(_model_missing(host, model, "it is not in the list of models"))
    return None


def ollama_available(
    host: str | None = None, model: str | None = None, timeout: float = 2.0
) -> bool:
    """Whether Ollama at ``host`` answers within ``timeout`` and has ``model``."""
    reason = ollama_unavailable_reason(host, model, timeout)
    if reason is not None:
        logger.debug("Ollama is not available: %s", reason)
    return reason is None
