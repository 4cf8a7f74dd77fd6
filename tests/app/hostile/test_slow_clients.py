"""Slow clients are cut off after READ_TIMEOUT_S, early answers close the connection, and idle half-sent
connections do not delay anyone. Against a real process with READ_TIMEOUT_S=1."""

import socket
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests.app.conftest import SHIPPED_MODELS
from tests.app.hostile.attack import raw_connection, read_until_closed, started

READ_TIMEOUT_S = 1.0
JSON_HEAD = "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    process, url = started(SHIPPED_MODELS, READ_TIMEOUT_S=str(READ_TIMEOUT_S))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize(
    ("sent", "body"),
    [
        (b"POST /predict/multiclass HTTP/1.1\r\nHost: x\r\nContent-", b'{"detail":'),
        (JSON_HEAD.format(path="/predict/multiclass", length=100).encode() + b'{"inst', b'{"detail":'),
        (JSON_HEAD.format(path="/v2/models/mnist-multiclass/infer", length=100).encode() + b"{", b'{"error":'),
    ],
    ids=["partial headers", "partial body", "partial V2 body"],
)
def test_a_client_too_slow_to_send_its_request_gets_408_and_is_cut_off(url: str, sent: bytes, body: bytes) -> None:
    received, seconds = read_until_closed(raw_connection(url, sent), timeout=5 * READ_TIMEOUT_S)
    assert received.startswith(b"HTTP/1.1 408 ") and b"connection: close" in received
    assert b"\r\n\r\n" + body in received and b"READ_TIMEOUT_S" in received
    assert READ_TIMEOUT_S * 0.9 <= seconds <= READ_TIMEOUT_S + 1.5


def test_a_connection_that_sends_nothing_is_closed(url: str) -> None:
    received, seconds = read_until_closed(raw_connection(url, b""), timeout=5 * READ_TIMEOUT_S)
    assert received == b"" and seconds <= READ_TIMEOUT_S + 1.5


def test_bytes_that_are_not_http_get_a_json_400(url: str) -> None:
    received, _ = read_until_closed(raw_connection(url, b"\x16\x03\x01 not http\r\n\r\n"), timeout=5)
    assert received.startswith(b"HTTP/1.1 400 ") and b'\r\n\r\n{"detail":"Invalid HTTP request received."}' in received


def test_a_413_before_the_body_closes_the_connection(url: str) -> None:
    sent = JSON_HEAD.format(path="/predict/multiclass", length=10**9).encode() + b'{"instances": ['
    received, seconds = read_until_closed(raw_connection(url, sent), timeout=5)
    assert received.startswith(b"HTTP/1.1 413 ") and b"connection: close" in received
    assert seconds < READ_TIMEOUT_S


def test_a_request_sent_in_time_is_served_and_keeps_its_connection(url: str) -> None:
    with httpx.Client() as client:
        for _ in range(3):
            response = client.post(f"{url}/predict/multiclass", json={"instances": [np.zeros(784).tolist()]})
            assert response.status_code == 200 and response.headers.get("connection") != "close"


def test_200_idle_half_sent_connections_do_not_delay_a_real_request(url: str) -> None:
    half_headers = b"POST /predict/multiclass HTTP/1.1\r\nHost: x\r\n"
    half_body = JSON_HEAD.format(path="/predict/multiclass", length=5000).encode() + b'{"instances": [[0, 0'
    idle: list[socket.socket] = []
    try:
        for index in range(200):
            idle.append(raw_connection(url, half_headers if index % 2 else half_body))
        digit = {"instances": [np.zeros(784).tolist()]}
        with httpx.Client(timeout=5) as client:
            for _ in range(5):
                start = time.perf_counter()
                assert client.post(f"{url}/predict/multiclass", json=digit).status_code == 200
                assert time.perf_counter() - start < 1.0
        time.sleep(READ_TIMEOUT_S + 1.0)
        for connection in idle:
            received, _ = read_until_closed(connection, timeout=2)
            assert received.startswith(b"HTTP/1.1 408 ")
    finally:
        for connection in idle:
            connection.close()
