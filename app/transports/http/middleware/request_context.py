"""The request id (X-Request-ID) and the access log line (RequestGate gives every request both)."""

import logging
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from app.core.registry import ModelSpec
from app.operations.logs import FIELDS_ATTRIBUTE, access_message
from app.operations.metrics import UNMATCHED_ROUTE

REQUEST_ID_HEADER = b"x-request-id"

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.error")


def note_model(request: Request, spec: ModelSpec, instances: int) -> None:
    """Tell the access log which model answered this request and how many images it sent."""
    state = request.scope["state"]
    state["model"] = spec.name
    state["model_version"] = spec.version
    state["instances"] = instances


def log_fields(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    """The fields of a request's access or error log line."""
    state = scope["state"]
    client = scope.get("client")
    return {
        "request_id": state["request_id"],
        "method": scope["method"],
        "route": getattr(scope.get("route"), "path", UNMATCHED_ROUTE),
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "instances": state.get("instances"),
        "model": state.get("model"),
        "model_version": state.get("model_version"),
        "client": f"{client[0]}:{client[1]}" if client else None,
    }


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """One access log line for a request."""
    fields = log_fields(scope, status, seconds)
    access_logger.info(access_message(fields), extra={FIELDS_ATTRIBUTE: fields})


def log_failure(scope: Scope, seconds: float) -> None:
    """The traceback of the exception being handled, with the request's id and fields (its answer was a 500)."""
    error_logger.exception("request failed", extra={FIELDS_ATTRIBUTE: log_fields(scope, 500, seconds)})
