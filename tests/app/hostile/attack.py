"""Helpers for the tests that attack a real process: its heaviest acceptable uploads, raw sockets, CPU time."""

import socket
import time
from pathlib import Path

import httpx

from tests.app.conftest import free_port, start_service


def started(models_dir: Path, **env: str) -> tuple[object, str]:
    """A ready `python -m app` process and its URL (the caller terminates it)."""
    port = free_port()
    process = start_service(models_dir, port, LOG_LEVEL="warning", **env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("service did not become ready in 30 s")


def raw_connection(url: str, data: bytes) -> socket.socket:
    """A socket to the service that has sent `data` and nothing else."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(data)
    return connection


def read_until_closed(connection: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    connection.settimeout(timeout)
    start = time.monotonic()
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received, time.monotonic() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (USER_HZ = 100)
