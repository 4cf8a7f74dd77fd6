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


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(request.scope, exc.status_code, exc.detail, retry_after(exc))


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
    """Starlette's last resort, as JSON that leaks nothing; the request_context middleware logs the traceback."""
    return error_response(request.scope, 500, INTERNAL_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    """Map every service error, validation error, routing error and unexpected error to its status and body."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientGone, _client_gone)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_error)
