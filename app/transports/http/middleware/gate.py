"""RequestGate: the one layer every HTTP request passes, and the whole path of the hot routes.

Per request, from one pass over the headers: the request id (X-Request-ID, echoed on every answer and in every
error body), MAX_CONCURRENCY (503 at once; probes exempt), the API keys (401, or 404 while /admin is disabled),
MAX_BODY_BYTES (413, from Content-Length before reading or while the body streams in, without holding it), the
memory budget (MemoryAdmission: reserved before the body is read), and at the end the request metrics and the
access log. An answer sent before the whole body has arrived closes the
connection, so the rest of that body is never read.

The hot routes (the DirectRoutes: both predict routes and V2 infer) are called from here, their errors
answered through app.transports.http.errors, with none of Starlette's error and exception middleware, FastAPI's
exit stack or the router in between: about a tenth of a single-image request (bench/in_process.py). Every
other request goes on to FastAPI, which routes and documents everything, the hot routes too.
"""

import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.admission import body_cost
from app.core.errors import PayloadTooLarge
from app.core.inputs import MAX_DIGITS
from app.operations.logs import request_id_of
from app.operations.metrics import UNMATCHED_ROUTE
from app.operations.services import Services
from app.transports.http.errors import error_response, expected_error_response, internal_error_response
from app.transports.http.middleware import PROBE_PATHS
from app.transports.http.middleware.auth import ApiKeyCheck
from app.transports.http.middleware.memory import MemoryAdmission
from app.transports.http.middleware.request_context import (
    REQUEST_ID_HEADER,
    log_access,
    log_failure,
)
from app.transports.http.routes import DirectRoute

CLOSE = (b"connection", b"close")
HotMatch = tuple[DirectRoute, dict[str, str]]


class Exchange:
    """One request's side of the connection: its body within MAX_BODY_BYTES, its answer with the request id
    (and `connection: close` while body bytes are still unread), and the status it was given."""

    __slots__ = (
        "_id_header",
        "_limit",
        "_receive",
        "_send",
        "_too_large",
        "authorization",
        "body_left",
        "received",
        "status",
    )

    def __init__(self, receive: Receive, send: Send, scope: Scope, gate: "RequestGate") -> None:
        self._receive = receive
        self._send = send
        self._limit = gate.max_body_bytes
        self._too_large = gate.too_large
        self.authorization: bytes | None = None
        self.body_left = False
        self.received = 0
        self.status = 500
        declared = request_id = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                self.body_left = value != b"0"
            elif name == b"transfer-encoding":
                self.body_left = True
            elif name == REQUEST_ID_HEADER:
                request_id = value
            elif name == b"authorization":
                self.authorization = value
        if declared is not None and declared.isdigit() and (len(declared) > MAX_DIGITS or int(declared) > self._limit):
            self._limit = -1  # refused at the first read: nothing of it is taken
        text = request_id_of(None if request_id is None else request_id.decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = text
        self._id_header = (REQUEST_ID_HEADER, text.encode())

    async def receive(self) -> Message:
        if self._limit < 0:
            raise PayloadTooLarge(self._too_large)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._limit:
                raise PayloadTooLarge(self._too_large)
            self.body_left = message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = [*message.get("headers", ()), self._id_header]
            if self.body_left:
                headers.append(CLOSE)
            message["headers"] = headers
        await self._send(message)


class RequestGate:
    """The request id, limits, keys, metrics and access log of every request; the hot routes served directly."""

    def __init__(self, app: ASGIApp, services: Services, keys: ApiKeyCheck, hot_routes: Sequence[DirectRoute]) -> None:
        settings = services.settings
        self.app = app
        self.metrics = services.metrics
        self.access_log = settings.access_log
        self.keys = keys
        self.max_requests = settings.max_concurrency
        self.max_body_bytes = settings.max_body_bytes
        self.too_large = f"request body is larger than {settings.max_body_bytes} bytes (MAX_BODY_BYTES)"
        self.busy = f"the server is at its limit of {settings.max_concurrency} concurrent requests (MAX_CONCURRENCY)"
        self.active = 0
        self.exact = {route.path: route for route in hot_routes if not route.param_convertors}
        self.patterned = [route for route in hot_routes if route.param_convertors]
        self.admitted = MemoryAdmission(
            self._dispatch, services.memory, body_cost(settings.max_instances, settings.max_body_bytes)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        exchange = Exchange(receive, send, scope, self)
        try:
            if scope["path"] in PROBE_PATHS:
                await self._admitted(scope, exchange)
            elif self.active >= self.max_requests:
                busy = error_response(scope, 503, self.busy, {"retry-after": "1"})
                await busy(scope, exchange.receive, exchange.send)
            else:
                self.active += 1
                try:
                    await self._admitted(scope, exchange)
                finally:
                    self.active -= 1
        except Exception:
            # A bug: its 500 has been sent (by Starlette's last-resort handler, or by _hot); the traceback goes here.
            log_failure(scope, time.perf_counter() - start)
        else:
            if self.access_log:
                log_access(scope, exchange.status, time.perf_counter() - start)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            self.metrics.observe_request(route, scope["method"], exchange.status, time.perf_counter() - start)

    async def _admitted(self, scope: Scope, exchange: Exchange) -> None:
        refusal = self.keys.refusal(scope, exchange.authorization)
        if refusal is not None:
            await refusal(scope, exchange.receive, exchange.send)
            return
        await self.admitted(scope, exchange.receive, exchange.send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A hot route served here, anything else by FastAPI."""
        hot = self._hot_route(scope)
        if hot is None:
            await self.app(scope, receive, send)
        else:
            await self._hot(scope, receive, send, *hot)

    def _hot_route(self, scope: Scope) -> HotMatch | None:
        """The hot route a POST is for, and its path parameters."""
        if scope["method"] != "POST":
            return None
        path: str = scope["path"]
        route = self.exact.get(path)
        if route is not None:
            return route, {}
        for route in self.patterned:
            match = route.path_regex.match(path)
            if match is not None:
                return route, match.groupdict()
        return None

    async def _hot(
        self, scope: Scope, receive: Receive, send: Send, route: DirectRoute, params: dict[str, str]
    ) -> None:
        """The route's endpoint, its answer or its error's, sent with the request id."""
        scope["route"] = route
        try:
            response = await route.endpoint(Request(scope, receive), **params)
        except Exception as error:
            response = expected_error_response(scope, error)
            if response is None:
                await internal_error_response(scope)(scope, receive, send)
                raise
        await response(scope, receive, send)
