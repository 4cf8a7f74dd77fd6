"""Signals: SIGTERM drains the service (readiness off, new connections refused, requests in flight finish)."""

import asyncio
import json
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.main import create_app
from app.operations.lifecycle import install_signal_handlers
from app.transports.http.deps import services_of
from tests.app.conftest import SHIPPED_MODELS, free_port, make_settings, start_service, wait_until_ready

STOPPED_BY_SIGTERM = (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean drain


def test_sigterm_turns_readiness_off_at_once_and_sighup_reloads(models_dir: Path) -> None:
    app = create_app(make_settings(models_dir))
    services_of(app).registry.load()
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda sig, frame: received.append(sig)) for sig in (signal.SIGTERM, signal.SIGINT)
    }

    async def scenario() -> None:
        install_signal_handlers(services_of(app))  # chained before the recorder, as before uvicorn's own handler
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            assert (await client.get("/readyz")).status_code == 200
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(200):
                if services_of(app).reloader.last is not None:
                    break
                await asyncio.sleep(0.05)
            reloader = services_of(app).reloader
            assert reloader.last["trigger"] == "SIGHUP" and reloader.last["result"] == "ok"
            os.kill(os.getpid(), signal.SIGTERM)
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and "shutting down" in ready.json()["detail"]
            assert (await client.get("/v2/health/ready")).status_code == 503
            assert (await client.get("/healthz")).status_code == 200  # alive, just not taking new work
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    try:
        asyncio.run(scenario())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert received == [signal.SIGTERM]


def _start_slow_request(port: int, body: bytes) -> socket.socket:
    """A predict request whose headers and first half of body are sent; the rest is still to come."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /predict/multiclass HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    conn.sendall(head + body[: len(body) // 2])
    return conn


def _refused_within(port: int, seconds: float) -> bool:
    """True once a new connection to the port is refused (the listening socket is closed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.1)
    return False


def _read_response(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_the_request_in_flight_finish_refuses_new_ones_and_exits(workers: str, test_digits: tuple) -> None:
    image, label = test_digits[0][3], int(test_digits[1][3])
    body = json.dumps({"instances": [image.tolist()]}).encode()
    port = free_port()
    process = start_service(SHIPPED_MODELS, port, WORKERS=workers, SHUTDOWN_TIMEOUT_S="20")
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}", timeout_s=60)
        conn = _start_slow_request(port, body)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert _refused_within(port, seconds=10)
        assert process.poll() is None  # still waiting for the request in flight
        conn.sendall(body[len(body) // 2 :])
        response = _read_response(conn)
        conn.close()
        assert response.startswith(b"HTTP/1.1 200 ")
        answer = json.loads(response.split(b"\r\n\r\n", 1)[1])
        assert answer["predictions"][0]["label"] == label
        assert process.wait(timeout=15) in STOPPED_BY_SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_request_that_outlives_shutdown_timeout_does_not_keep_the_process(test_digits: tuple) -> None:
    body = json.dumps({"instances": [np.zeros(784).tolist()]}).encode()
    port = free_port()
    process = start_service(SHIPPED_MODELS, port, SHUTDOWN_TIMEOUT_S="1")
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}")
        conn = _start_slow_request(port, body)  # and never finished
        time.sleep(0.3)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) in STOPPED_BY_SIGTERM
        assert time.monotonic() - stopped_at < 10
        conn.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
