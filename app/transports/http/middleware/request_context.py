"""The request id (X-Request-ID), the access log and the request metrics: the outermost layer, outside even the
500 handler, so every answer is counted and carries the id."""

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.registry import ModelSpec
from app.operations.logs import FIELDS_ATTRIBUTE, access_message, request_id_of
from app.operations.metrics import UNMATCHED_ROUTE, Metrics

REQUEST_ID_HEADER = b"x-request-id"

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.error")


def note_model(request: Request, spec: ModelSpec, instances: int) -> None:
    """Tell the access log which model answered this request and how many images it sent."""
    state = request.scope["state"]
    state["model"] = spec.name
    state["model_version"] = spec.version
    state["instances"] = instances


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID), counts and times it by route template and status,
    logs one line per request and each failure."""

    def __init__(self, app: ASGIApp, access_log: bool, metrics: Metrics) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = request_id_of(
            next((v.decode("latin-1") for k, v in scope["headers"] if k == REQUEST_ID_HEADER), None)
        )
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        encoded_id = request_id.encode()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, encoded_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's 500 handler has answered already; the traceback goes here, with the request id.
            error_logger.exception("request failed", extra={FIELDS_ATTRIBUTE: self._fields(scope, 500, start)})
        else:
            if self.access_log:
                fields = self._fields(scope, status, start)
                access_logger.info(access_message(fields), extra={FIELDS_ATTRIBUTE: fields})
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            self.metrics.observe_request(route, scope["method"], status, time.perf_counter() - start)

    @staticmethod
    def _fields(scope: Scope, status: int, start: float) -> dict[str, Any]:
        state = scope["state"]
        client = scope.get("client")
        return {
            "request_id": state["request_id"],
            "method": scope["method"],
            "route": getattr(scope.get("route"), "path", UNMATCHED_ROUTE),
            "path": scope["path"],
            "status": status,
            "duration_ms": round((time.perf_counter() - start) * 1000, 3),
            "instances": state.get("instances"),
            "model": state.get("model"),
            "model_version": state.get("model_version"),
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
