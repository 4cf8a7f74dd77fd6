"""Service errors and the one place that maps them to HTTP status codes and bodies.

/predict and the other routes answer `{"detail": ...}`; the Open Inference Protocol routes
under /v2 answer `{"error": ...}` and use 400 for bad input, as the protocol says.
"""

import reprlib
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from app.responses import JSONResponse

V2_PREFIX = "/v2"
INTERNAL_ERROR = "internal server error"
# Status of an answer nobody will read (nginx's "client closed request").
CLIENT_CLOSED_REQUEST = 499
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


def error_response(
    scope: Scope, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The error body of the protocol the request spoke (`{"error": ...}` under /v2, else `{"detail": ...}`), with
    the request's id."""
    if scope["path"].startswith(V2_PREFIX):
        body, status_code = {"error": message}, 400 if status_code == 422 else status_code
    else:
        body = {"detail": message}
    request_id = scope.get("state", {}).get("request_id")
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(request.scope, exc.status_code, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [f"{clip('.'.join(str(part) for part in error['loc']))}: {error['msg']}" for error in exc.errors()]
    return error_response(request.scope, 422, "; ".join(details))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(request.scope, exc.status_code, str(exc.detail), exc.headers)


async def _client_gone(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request.scope, CLIENT_CLOSED_REQUEST, "the client went away")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's last resort, as JSON that leaks nothing; app.middleware.request_context logs the traceback."""
    return error_response(request.scope, 500, INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    """Map every service error, validation error, routing error and unexpected error to its status and body."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientGone, _client_gone)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_error)
