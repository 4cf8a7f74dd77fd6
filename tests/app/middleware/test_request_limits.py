"""Request limits: a declared Content-Length is read safely, whatever its length."""

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message


@pytest.mark.parametrize("declared", [b"8388609", b"9" * 19, b"9" * 5000])
def test_a_content_length_past_the_limit_gets_413_however_long(
    client: TestClient, app: FastAPI, declared: bytes
) -> None:
    """Past MAX_BODY_BYTES (8 MiB by default), and longer than int() parses (4,300 digits): 413, never a 500."""
    path = "/predict/multiclass"
    headers = [(b"content-length", declared), (b"content-type", b"application/json")]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"MAX_BODY_BYTES" in sent[1]["body"]
