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
