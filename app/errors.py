"""Service errors and the one place that maps them to HTTP status codes."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from app.responses import JSONResponse


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
    """No model of that name is in the repository."""

    status_code = 404


class ModelNotReady(ServiceError):
    """The model exists (or is expected) but is not loaded."""

    status_code = 503


class ModelLoadError(Exception):
    """A model in the repository is missing, corrupt or does not match its metadata."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    ]
    return JSONResponse({"detail": "; ".join(details)}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Map every service error to its status code with a `{"detail": ...}` body."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
