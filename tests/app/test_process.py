"""`python -m app` as a real process, over real HTTP."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.app.conftest import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(models_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "MODELS_DIR": str(models_dir), "PORT": str(port), "HOST": "127.0.0.1", "ORT_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture()
def server(models_dir: Path) -> Iterator[str]:
    port = free_port()
    process = start(models_dir, port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("service did not become ready in 30 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_started_process_classifies_a_real_digit(server: str, test_digits: tuple) -> None:
    image, label = test_digits[0][5], int(test_digits[1][5])
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    response = httpx.post(f"{server}/predict/multiclass", json={"instances": [image.tolist()]})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == label
    bad = httpx.post(f"{server}/predict/multiclass", content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 422
    assert httpx.post(f"{server}/predict/multiclass", json={"instances": [np.zeros(784).tolist()]}).status_code == 200


def test_a_corrupt_model_stops_start_up_with_one_clear_line(models_dir: Path) -> None:
    onnx_file = models_dir / "mnist-multilabel" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:1000])
    process = start(models_dir, free_port())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = stderr.strip().splitlines()
    assert lines == [lines[-1]] and "Traceback" not in stderr
    assert lines[0].startswith("error: cannot start: ")
    assert str(onnx_file) in lines[0] and "sha256" in lines[0]
