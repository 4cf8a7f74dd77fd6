"""What every gRPC call meets around its RPC: the request id (x-request-id metadata in and out), API keys,
MAX_CONCURRENCY, the one mapping of ServiceError to status codes, metrics by method and code, the access log.

Each error's gRPC code is derived from its one HTTP status; anything unexpected is INTERNAL, logged with its
traceback and the request id, and tells the caller nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

import grpc

from app.core.errors import Overloaded, ServiceError
from app.core.registry import ModelSpec
from app.operations.auth import bearer_token
from app.operations.logs import FIELDS_ATTRIBUTE, access_message, request_id_of
from app.operations.services import Services
from app.transports.grpc.codec import Context, Handler

REQUEST_ID = "x-request-id"
PUBLIC_SERVICES = ("/grpc.health.v1.Health/",)
"""Open without a key and never refused for load: probes."""
RETRY_AFTER_S = 1
"""Sent as `retry-after` trailing metadata with UNAVAILABLE, like REST's Retry-After."""
CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}
INTERNAL_ERROR = "internal server error"

access_logger = logging.getLogger("app.access")
error_logger = logging.getLogger("app.error")


class Unauthenticated(ServiceError):
    """A call without a valid API key while keys are on."""

    status_code = 401


class Busy(ServiceError):
    """More calls in progress than MAX_CONCURRENCY."""

    status_code = 503


def status_code_of(error: ServiceError) -> grpc.StatusCode:
    """The gRPC code of a service error, from its HTTP status."""
    return CODES.get(error.status_code, grpc.StatusCode.INTERNAL)


@dataclass
class CallNote:
    """What the access log says of one call besides its method and code: the model that answered it."""

    model: str | None = None
    model_version: str | None = None
    instances: int | None = None


CALL_NOTE: ContextVar[CallNote] = ContextVar("grpc_call_note")


def note_model(spec: ModelSpec, instances: int) -> None:
    """Tell the access log which model answered this call and how many images it sent."""
    note = CALL_NOTE.get()
    note.model, note.model_version, note.instances = spec.name, spec.version, instances


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every unary RPC (the only kind implemented) in the checks, error mapping and records above."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.max_calls = services.settings.max_concurrency
        self.busy = f"the server is at its limit of {self.max_calls} concurrent calls (MAX_CONCURRENCY); retry"
        self.active = 0

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        full_method: str = handler_call_details.method
        behaviour = cast(Handler, handler.unary_unary)  # every implemented RPC is a coroutine (grpc.aio)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(full_method, behaviour),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, full_method: str, behaviour: Handler) -> Handler:
        method = full_method.rsplit("/", 1)[-1]
        public = full_method.startswith(PUBLIC_SERVICES)

        async def call(request: Any, context: Context) -> Any:
            start = time.perf_counter()
            metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
            request_id = request_id_of(metadata.get(REQUEST_ID))
            note = CallNote()
            CALL_NOTE.set(note)
            code = grpc.StatusCode.OK
            await context.send_initial_metadata(((REQUEST_ID, request_id),))
            try:
                if public:
                    return await behaviour(request, context)
                self._admit(metadata)
                self.active += 1
                try:
                    return await behaviour(request, context)
                finally:
                    self.active -= 1
            except ServiceError as error:
                code = status_code_of(error)
                retry_after = error.retry_after_s if isinstance(error, Overloaded) else RETRY_AFTER_S
                retry = (("retry-after", str(retry_after)),) if code == grpc.StatusCode.UNAVAILABLE else ()
                await context.abort(code, error.detail, retry)
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                fields = self._fields(context, full_method, code, start, request_id, note)
                error_logger.exception("call failed", extra={FIELDS_ATTRIBUTE: fields})
                await context.abort(code, INTERNAL_ERROR)
            finally:
                self.services.metrics.observe_call(method, code.name, time.perf_counter() - start)
                if self.services.settings.access_log:
                    fields = self._fields(context, full_method, code, start, request_id, note)
                    access_logger.info(access_message(fields), extra={FIELDS_ATTRIBUTE: fields})

        return call

    def _admit(self, metadata: dict[str, str]) -> None:
        """Raise Unauthenticated for a missing or wrong API key (when keys are on), Busy past MAX_CONCURRENCY."""
        keys = self.services.keys
        if keys.enabled:
            token = bearer_token(metadata.get("authorization"))
            if token is None or not keys.accepts(token):
                raise Unauthenticated("missing or wrong API key: send `authorization: Bearer <key>` metadata")
        if self.active >= self.max_calls:
            raise Busy(self.busy)

    @staticmethod
    def _fields(
        context: Context,
        full_method: str,
        code: grpc.StatusCode,
        start: float,
        request_id: str,
        note: CallNote,
    ) -> dict[str, Any]:
        return {
            "request_id": request_id,
            "method": "GRPC",
            "route": full_method,
            "path": full_method,
            "status": code.name,
            "duration_ms": round((time.perf_counter() - start) * 1000, 3),
            "instances": note.instances,
            "model": note.model,
            "model_version": note.model_version,
            "client": context.peer(),
        }
