"""The request id (X-Request-ID) and the access log line (RequestGate gives every request both)."""

import logging
import os
import re
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from app.core.registry import ModelSpec
from app.operations.logs import FIELDS_ATTRIBUTE
from app.operations.metrics import UNMATCHED_ROUTE

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.error")


def request_id_of(header: bytes | None) -> str:
    """The caller's X-Request-ID when it is sane (1-128 of A-Z a-z 0-9 . _ : / + = -), else a new one."""
    if header is not None:
        text = header.decode("latin-1")
        if SANE_REQUEST_ID.fullmatch(text):
            return text
    return os.urandom(16).hex()


def note_model(request: Request, spec: ModelSpec, instances: int) -> None:
    """Tell the access log which model answered this request and how many images it sent."""
    state = request.scope["state"]
    state["model"] = spec.name
    state["model_version"] = spec.version
    state["instances"] = instances


def _access_message(fields: dict[str, Any]) -> str:
    """The access line as text: `client "METHOD path" status duration id=... [model=name:version instances=N]`."""
    message = (
        f'{fields["client"]} "{fields["method"]} {fields["path"]}" {fields["status"]} '
        f"{fields['duration_ms']:.2f} ms id={fields['request_id']}"
    )
    if fields["model"] is not None:
        message += f" model={fields['model']}:{fields['model_version']} instances={fields['instances']}"
    return message


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
    access_logger.info(_access_message(fields), extra={FIELDS_ATTRIBUTE: fields})


def log_failure(scope: Scope, seconds: float) -> None:
    """The traceback of the exception being handled, with the request's id and fields (its answer was a 500)."""
    error_logger.exception("request failed", extra={FIELDS_ATTRIBUTE: log_fields(scope, 500, seconds)})
