"""Memory admission: every request with a body reserves its worst-case memory before the body is read, and
holds it until its answer has been sent. RequestGate runs it for every request it lets in (after the request id,
MAX_CONCURRENCY and the keys), around whatever serves the request: a hot route or FastAPI.

A refused body (up to MAX_BODY_BYTES) is read and dropped before the refusal is sent, chunk by chunk, costing
no memory: clients such as httpx and requests send the whole body before they read an answer, and a server
that closes with their body unread makes them see a connection reset instead of the 413 or 503. A client
that sent `Expect: 100-continue` (curl, for large bodies) has not sent its body: it gets the refusal at once.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.admission import BodyCost, MemoryBudget
from app.core.errors import Overloaded, PayloadTooLarge, ServiceError
from app.core.inputs import MAX_DIGITS
from app.transports.http.errors import error_response, retry_after
from app.transports.http.middleware import PROBE_PATHS

CLOSE = (b"connection", b"close")
HEADER_OVERHEAD = 4
"""': ' and CRLF around each header line."""


class MemoryAdmission:
    """Reserves headers + what the body may become (BodyCost; a chunked body: as its bytes arrive) in the
    worker's MemoryBudget; 413 for a request that could never fit, 503 with Retry-After when no room came in
    time; the body is not read while the request waits. Probes and bodiless requests are exempt."""

    def __init__(self, app: ASGIApp, budget: MemoryBudget, cost: BodyCost) -> None:
        self.app = app
        self.budget = budget
        self.cost = cost
        self.drain_bytes = cost.inflated_bytes
        """The longest refused body read and dropped (MAX_BODY_BYTES)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        length: int | None = 0
        head = len(scope["raw_path"]) + len(scope.get("query_string", b""))
        compressed = expects_continue = False
        for name, value in scope["headers"]:
            head += len(name) + len(value) + HEADER_OVERHEAD
            if name == b"content-length":
                length = int(value) if value.isdigit() and len(value) <= MAX_DIGITS else 0
            elif name == b"transfer-encoding":
                length = None
            elif name == b"content-encoding":
                compressed = value != b"identity"
            elif name == b"expect":
                expects_continue = True
        if length == 0:
            await self.app(scope, receive, send)
            return
        if length is None:
            cost = self.cost
            fixed = head + (cost.of(0, True) if compressed else cost.image_cap)
            await self._chunked(scope, receive, send, fixed, 1.0 if compressed else cost.per_byte, expects_continue)
            return
        nbytes = head + self.cost.of(length, compressed)
        budget = self.budget
        if not budget.try_acquire(nbytes):
            try:
                await budget.acquire(nbytes)
            except (Overloaded, PayloadTooLarge) as error:
                await self._refuse(scope, receive, send, error, length, expects_continue)
                return
        try:
            await self.app(scope, receive, send)
        finally:
            budget.release(nbytes)

    async def _chunked(
        self, scope: Scope, receive: Receive, send: Send, nbytes: int, per_byte: float, expects_continue: bool
    ) -> None:
        """A body of unknown length: reserve what does not depend on it (a compressed body's inflated cost, else
        the images' cap), then grow the reservation by `per_byte` for each chunk as it arrives."""
        reservation = self.budget.reservation(nbytes)
        try:
            await reservation.__aenter__()
        except (Overloaded, PayloadTooLarge) as error:
            await self._refuse(scope, receive, send, error, None, expects_continue)
            return

        async def growing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                await reservation.grow(int(len(message.get("body", b"")) * per_byte))
            return message

        try:
            await self.app(scope, growing_receive, send)
        finally:
            await reservation.__aexit__(None, None, None)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, error: ServiceError, length: int | None, expects: bool
    ) -> None:
        """The 413 or 503, after dropping the body when it is small enough and was sent."""
        response = error_response(scope, error.status_code, error.detail, retry_after(error))
        if expects or (length or 0) > self.drain_bytes or not await self._drain(receive):
            response.raw_headers.append(CLOSE)
        await response(scope, receive, send)

    async def _drain(self, receive: Receive) -> bool:
        """Read and drop the request's body; False if it is longer than drain_bytes or the client left."""
        dropped = 0
        while dropped <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return False
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False
