"""The budgets every request meets before any route runs: concurrent requests (MAX_CONCURRENCY) and body
bytes (MAX_BODY_BYTES). One layer for both: each layer costs every request."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge
from app.core.inputs import MAX_DIGITS
from app.transports.http.errors import error_response
from app.transports.http.middleware import PROBE_PATHS

CLOSE = (b"connection", b"close")


class RequestLimitsMiddleware:
    """503 at once past MAX_CONCURRENCY requests in progress; PayloadTooLarge (413) when a body is over
    MAX_BODY_BYTES, from Content-Length before reading or while streaming, without holding it in memory.

    An answer sent before the whole body has arrived (a 503, 413, 401 or any early error) closes the
    connection, so the rest of that body is never read.
    """

    def __init__(self, app: ASGIApp, max_requests: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.max_body_bytes = max_body_bytes
        self.too_large = f"request body is larger than {max_body_bytes} bytes (MAX_BODY_BYTES)"
        self.busy = f"the server is at its limit of {max_requests} concurrent requests (MAX_CONCURRENCY)"
        self.active = 0

    def _over_limit(self, content_length: bytes) -> bool:
        """A declared Content-Length past MAX_BODY_BYTES; one too long to parse is past it too."""
        return len(content_length) > MAX_DIGITS or int(content_length) > self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        body_left = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                body_left = value != b"0"
            elif name == b"transfer-encoding":
                body_left = True
        received = 0

        async def limited_receive() -> Message:
            nonlocal received, body_left
            if declared is not None and declared.isdigit() and self._over_limit(declared):
                raise PayloadTooLarge(self.too_large)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge(self.too_large)
                body_left = message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            if body_left and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        if scope["path"] in PROBE_PATHS:
            await self.app(scope, limited_receive, closing_send)
            return
        if self.active >= self.max_requests:
            await error_response(scope, 503, self.busy, {"retry-after": "1"})(scope, receive, closing_send)
            return
        self.active += 1
        try:
            await self.app(scope, limited_receive, closing_send)
        finally:
            self.active -= 1
