"""HEAD on every GET route (uptime checkers and caches ask with HEAD; FastAPI's routes answer only GET)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    """A HEAD request is routed as GET; its answer keeps the status and headers (Content-Length too) and drops the
    body. The method is HEAD again afterwards, so the access log and the metrics say HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        scope["method"] = "GET"
        try:
            await self.app(scope, receive, without_body)
        finally:
            scope["method"] = "HEAD"
