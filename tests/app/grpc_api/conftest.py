"""A started service with gRPC on, and the clients that run in environments of their own (see the Makefile)."""

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.app.conftest import SHIPPED_MODELS, free_port, start_service, wait_until_ready

MAX_BODY_BYTES = 1_000_000
"""Small enough that a test can send a message over it (256 FP64 digits are 1.6 MB)."""


@dataclass(frozen=True)
class Service:
    """A running `python -m app`: its REST base URL and its gRPC target (host:port)."""

    url: str
    target: str
    process: subprocess.Popen


def start_grpc_service(**env: str) -> Service:
    port, grpc_port = free_port(), free_port()
    env = {"LOG_LEVEL": "warning", "MAX_BODY_BYTES": str(MAX_BODY_BYTES), **env}
    process = start_service(SHIPPED_MODELS, port, GRPC_PORT=str(grpc_port), **env)
    service = Service(f"http://127.0.0.1:{port}", f"127.0.0.1:{grpc_port}", process)
    wait_until_ready(process, service.url)
    return service


@pytest.fixture(scope="module")
def grpc_service() -> Iterator[Service]:
    """The service on the shipped models, gRPC on a free port, messages capped at MAX_BODY_BYTES."""
    service = start_grpc_service()
    try:
        yield service
    finally:
        service.process.terminate()
        service.process.wait(timeout=30)


def run_client(python_env: str, script: Path, command: str, **arguments: Any) -> dict[str, Any]:
    """Run a client script under the interpreter named by `python_env`; its JSON answer."""
    result = subprocess.run(
        [os.environ[python_env], str(script), command, json.dumps(arguments)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def rest_v2(service: Service, model: str, pixels: np.ndarray, datatype: str) -> dict[str, np.ndarray]:
    """The same request over REST V2 (JSON): every output, by name."""
    body = {
        "inputs": [
            {"name": "pixels", "shape": list(pixels.shape), "datatype": datatype, "data": pixels.ravel().tolist()}
        ]
    }
    response = httpx.post(f"{service.url}/v2/models/{model}/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return {output["name"]: np.array(output["data"]).reshape(output["shape"]) for output in response.json()["outputs"]}


def assert_same_outputs(grpc_outputs: dict[str, list], rest_outputs: dict[str, np.ndarray]) -> None:
    for name, values in grpc_outputs.items():
        expected = rest_outputs[name]
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-7, err_msg=name)
        else:
            np.testing.assert_array_equal(values, expected, err_msg=name)
