"""Refuses request bodies over MAX_BODY_BYTES without reading them into memory."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge

CLOSE = (b"connection", b"close")


class BodySizeLimitMiddleware:
    """Raises PayloadTooLarge when the body is read: at once from Content-Length, else while streaming.

    An answer sent before the whole body has arrived (a 413, or any early error) closes the
    connection, so the rest of that body is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
        too_large = f"request body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES)"
        received = 0

        async def limited_receive() -> Message:
            nonlocal received, body_left
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                raise PayloadTooLarge(too_large)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(too_large)
                body_left = message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            if body_left and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        await self.app(scope, limited_receive, closing_send)
