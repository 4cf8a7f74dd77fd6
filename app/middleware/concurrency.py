"""Caps the requests one worker serves at once (MAX_CONCURRENCY); health checks and metrics are exempt."""

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_response

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/v2/health/")


class ConcurrencyLimitMiddleware:
    """Answers 503 at once, without reading the body, when MAX_CONCURRENCY requests are in progress."""

    def __init__(self, app: ASGIApp, max_requests: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_requests:
            busy = f"the server is at its limit of {self.max_requests} concurrent requests (MAX_CONCURRENCY)"
            await error_response(scope, 503, busy, {"retry-after": "1"})(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
