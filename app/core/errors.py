"""The service's errors, each with the one HTTP status it stands for (other transports derive theirs from it)."""

import reprlib

QUOTE_CHARS = 100


def clip(text: str) -> str:
    """Client input inside an error message, cut to about QUOTE_CHARS characters."""
    return text if len(text) <= QUOTE_CHARS else f"{text[:QUOTE_CHARS]}... ({len(text)} characters)"


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, QUOTE_CHARS, QUOTE_CHARS
    return short


SHORT_REPR = _short_repr()


def quote(value: object) -> str:
    """repr() of client input for an error message: a few levels and about QUOTE_CHARS characters at most."""
    return clip(SHORT_REPR.repr(value))


class ServiceError(Exception):
    """An error a caller can act on; `status_code` is the HTTP status it maps to."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ServiceError):
    """The request body is well-formed HTTP but its content is wrong."""

    status_code = 422


class PayloadTooLarge(ServiceError):
    """The request body is larger than MAX_BODY_BYTES."""

    status_code = 413


class TooLargeForMemory(PayloadTooLarge):
    """The request may need more memory than the worker's whole budget (MEMORY_BUDGET_BYTES): it can never fit."""


class Overloaded(ServiceError):
    """The server cannot take the request now (its memory budget is spent): retry after `retry_after_s`."""

    status_code = 503

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class UnsupportedMediaType(ServiceError):
    """The request body is neither JSON nor multipart/form-data."""

    status_code = 415


class ModelNotFound(ServiceError):
    """No model of that name (or version) is in the repository."""

    status_code = 404


class ModelNotReady(ServiceError):
    """The model exists (or is expected) but is not loaded."""

    status_code = 503


class ShuttingDown(ServiceError):
    """The process got its stop signal: it finishes what it has and takes nothing new."""

    status_code = 503


class ReloadFailed(ServiceError):
    """A reload found a bad model or keys file; what failed keeps serving as before."""

    status_code = 422


class ClientGone(Exception):
    """The client went away before its answer was ready: nobody is left to answer."""


class ModelLoadError(Exception):
    """A model in the repository is missing, corrupt or does not match its metadata."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
