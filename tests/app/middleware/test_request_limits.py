"""Request limits: a declared Content-Length is read safely, whatever its length."""

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge
from app.transports.http.middleware.request_limits import RequestLimitsMiddleware


async def _read_body(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _ignore(message: Message) -> None:
    pass


@pytest.mark.parametrize("declared", [b"101", b"9" * 19, b"9" * 5000])
def test_a_content_length_past_the_limit_is_payload_too_large_however_long(declared: bytes) -> None:
    middleware = RequestLimitsMiddleware(_read_body, max_requests=1, max_body_bytes=100)
    scope = {"type": "http", "path": "/predict/multiclass", "headers": [(b"content-length", declared)]}
    with pytest.raises(PayloadTooLarge):
        asyncio.run(middleware(scope, _empty_body, _ignore))
