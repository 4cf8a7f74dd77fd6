"""Fixtures for the service tests: the shipped models, real MNIST digits, a started app."""

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from app.core.budgets import RequestBudget
from app.main import create_app
from app.operations.config import Settings
from training.data import Mnist, load_mnist, make_canvases

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = REPO / "models"


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def test_digits(mnist: Mnist) -> tuple[np.ndarray, np.ndarray]:
    """500 MNIST test digits (uint8 28x28) and their labels, spread over the split."""
    index = np.linspace(0, len(mnist.x_test) - 1, 500).astype(int)
    return mnist.x_test[index], mnist.y_test[index]


@pytest.fixture(scope="session")
def test_canvases(mnist: Mnist) -> tuple[np.ndarray, np.ndarray]:
    """200 multilabel canvases built from MNIST test digits only."""
    return make_canvases(mnist.x_test, mnist.y_test, 200, seed=7)


def shipped_card(name: str) -> dict[str, Any]:
    """A shipped model.json, parsed, as a fresh dict safe to change."""
    return json.loads((SHIPPED_MODELS / name / "model.json").read_text())


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped model repository, safe to break."""
    return Path(shutil.copytree(SHIPPED_MODELS, tmp_path / "models"))


def make_settings(models_dir: Path = SHIPPED_MODELS, **overrides: object) -> Settings:
    """Settings for an in-process app: gRPC off unless a test asks for it (GRPC_PORT's default may be taken)."""
    return Settings(**{"models_dir": models_dir, "ort_threads": 1, "grpc_port": 0, **overrides})


def request_budget(**overrides: object) -> RequestBudget:
    """A fresh budget under the default limits, or the ones overridden."""
    return RequestBudget(make_settings(**overrides).request_limits)


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app(make_settings())


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as started:
        yield started


def png_bytes(pixels: np.ndarray, ink_on_white: bool = False) -> bytes:
    """Encode a 0..255 grayscale array as PNG (optionally dark ink on a white page, like a scan)."""
    image = 255 - pixels if ink_on_white else pixels
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def b64_png(pixels: np.ndarray, ink_on_white: bool = False) -> dict[str, str]:
    return {"b64": base64.b64encode(png_bytes(pixels, ink_on_white)).decode()}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_service(models_dir: Path, port: int, **env: str) -> subprocess.Popen:
    """`python -m app` as a child process on 127.0.0.1:port (gRPC off unless GRPC_PORT is given)."""
    env = {
        **os.environ,
        "MODELS_DIR": str(models_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "ORT_THREADS": "1",
        "GRPC_PORT": "0",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_until_ready(process: subprocess.Popen, url: str, timeout_s: float = 30) -> None:
    """Poll /readyz until it answers 200; fail with the process's stderr if it dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"service did not become ready in {timeout_s} s")


@contextmanager
def service(**env: str) -> Iterator[str]:
    """A started, ready `python -m app` on the shipped models (with extra settings); its base URL."""
    port = free_port()
    process = start_service(SHIPPED_MODELS, port, LOG_LEVEL="warning", **env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a started, ready service on the shipped models."""
    with service() as url:
        yield url
