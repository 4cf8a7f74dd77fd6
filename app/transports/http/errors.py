"""The one place that maps service errors to HTTP status codes and bodies.

/predict and the other routes answer `{"detail": ...}`; the Open Inference Protocol routes
under /v2 answer `{"error": ...}` and use 400 for bad input, as the protocol says.
"""

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from app.core.errors import ClientGone, Overloaded, ServiceError, clip
from app.transports.http.responses import JSONResponse

V2_PREFIX = "/v2"
INTERNAL_ERROR = "internal server error"
# Status of an answer nobody will read (nginx's "client closed request").
CLIENT_CLOSED_REQUEST = 499


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


def retry_after(error: ServiceError) -> dict[str, str] | None:
    """The Retry-After header of an Overloaded error, None for other errors."""
    return {"retry-after": str(error.retry_after_s)} if isinstance(error, Overloaded) else None


def expected_error_response(scope: Scope, exc: Exception) -> JSONResponse | None:
    """The answer to an error the service expects (its own, Starlette's HTTP errors, a client gone); None for a
    bug. Starlette's exception handlers and RequestGate's hot path both answer through this."""
    if isinstance(exc, ServiceError):
        return error_response(scope, exc.status_code, exc.detail, retry_after(exc))
    if isinstance(exc, HTTPException):
        return error_response(scope, exc.status_code, str(exc.detail), exc.headers)
    if isinstance(exc, ClientGone | ClientDisconnect):
        return error_response(scope, CLIENT_CLOSED_REQUEST, "the client went away")
    return None


def internal_error_response(scope: Scope) -> JSONResponse:
    """The 500 of a bug, as JSON that leaks nothing (the traceback goes to the log)."""
    return error_response(scope, 500, INTERNAL_ERROR)


async def _expected_error(request: Request, exc: Exception) -> JSONResponse:
    response = expected_error_response(request.scope, exc)
    assert response is not None
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [f"{clip('.'.join(str(part) for part in error['loc']))}: {error['msg']}" for error in exc.errors()]
    return error_response(request.scope, 422, "; ".join(details))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's last resort; RequestGate logs the traceback."""
    return internal_error_response(request.scope)


def install_error_handlers(app: FastAPI) -> None:
    """Map every service error, validation error, routing error and unexpected error to its status and body."""
    for expected in (ServiceError, HTTPException, ClientGone, ClientDisconnect):
        app.add_exception_handler(expected, _expected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
