"""Why an analysis could not be had, and whether trying again can help."""


class AnalysisError(Exception):
    """An analysis failed. ``retryable`` says whether a later attempt may work."""

    retryable = False


class OllamaUnreachable(AnalysisError):
    retryable = True


class OllamaTimeout(AnalysisError):
    retryable = True


class ModelUnavailable(AnalysisError):
    pass


class ReplyTruncated(AnalysisError):
    pass


class InvalidReply(AnalysisError):
    pass


class OllamaStatusError(AnalysisError):
    """Ollama answered with an error status. A busy or failing server may
    recover; a request it rejects will be rejected again."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status >= 500 or status == 429
