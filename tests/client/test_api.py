"""DigitsClient and AsyncDigitsClient against a real service: paths, bytes and numpy arrays in, typed results out."""

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from digits import (
    AsyncDigitsClient,
    AuthenticationError,
    DigitsClient,
    Failure,
    MulticlassResult,
    MultilabelResult,
    RetryPolicy,
    ServiceBusy,
    ServiceUnreachable,
)

from tests.app.conftest import service
from training.data import Mnist, make_canvases


def test_sync_paths_and_arrays(server: str, scans: tuple[Path, dict[str, int]], mnist: Mnist) -> None:
    folder, labels = scans
    png = folder / "scan00.png"
    images = [str(png), mnist.x_test[0], png.read_bytes(), folder / "broken.png", mnist.x_test[1], np.zeros((3, 3))]
    with DigitsClient(server, batch_size=2) as client:
        results = client.multiclass(images, top_k=2)
    assert [type(r) for r in results] == [MulticlassResult] * 3 + [Failure, MulticlassResult, Failure]
    answered = [r for r in results if isinstance(r, MulticlassResult)]
    assert [r.label for r in answered] == [
        labels[str(png)],
        int(mnist.y_test[0]),
        labels[str(png)],
        int(mnist.y_test[1]),
    ]
    assert [r.source for r in answered] == [str(png), "<array 1>", "<bytes 2>", "<array 4>"]
    first = answered[0]
    assert len(first.probabilities) == 10 and sum(first.probabilities) == pytest.approx(1, abs=1e-4)
    assert len(first.top_k) == 2 and first.top_k[0].label == first.label and first.is_digit
    failures = [r for r in results if isinstance(r, Failure)]
    assert failures[0].source == str(folder / "broken.png") and failures[0].error.startswith("422: ")
    assert failures[1].source == "<array 5>" and failures[1].error.startswith("422: expected 784 values")


def test_async_paths_and_arrays(server: str, scans: tuple[Path, dict[str, int]], mnist: Mnist) -> None:
    _, labels = scans
    paths = sorted(labels)
    canvases, targets = make_canvases(mnist.x_test, mnist.y_test, 4, seed=5)

    async def run() -> tuple[list[MulticlassResult | Failure], list[MultilabelResult | Failure]]:
        async with AsyncDigitsClient(server, batch_size=4, concurrency=3) as client:
            digits = await client.multiclass([*paths, *mnist.x_test[:10]])
            pictures = await client.multilabel(list(canvases), threshold=0.5)
        return digits, pictures

    digits, pictures = asyncio.run(run())
    expected = [labels[p] for p in paths] + [int(y) for y in mnist.y_test[:10]]
    assert all(isinstance(r, MulticlassResult) for r in digits)
    right = sum(r.label == want for r, want in zip(digits, expected, strict=True) if isinstance(r, MulticlassResult))
    assert right >= 0.9 * len(expected)
    assert [r.source for r in digits[: len(paths)]] == paths
    assert all(isinstance(r, MultilabelResult) for r in pictures)
    found = [set(r.labels) for r in pictures if isinstance(r, MultilabelResult)]
    assert sum(f == set(np.flatnonzero(t)) for f, t in zip(found, targets, strict=True)) >= 3


def test_errors_are_raised_not_returned(mnist: Mnist) -> None:
    with service(API_KEY="client-test-key-0001") as url:
        with pytest.raises(AuthenticationError, match="needs an API key"):
            DigitsClient(url).multiclass([mnist.x_test[0]])
        (answered,) = DigitsClient(url, "client-test-key-0001").multiclass([mnist.x_test[0]])
        assert isinstance(answered, MulticlassResult) and answered.label == mnist.y_test[0]
    with pytest.raises(ServiceUnreachable, match=f"cannot reach the service at {url}"):
        asyncio.run(AsyncDigitsClient(url).multiclass([mnist.x_test[0]]))


def test_the_client_needs_neither_numpy_nor_onnxruntime() -> None:
    """Installed alone (`pip install ./client`) it has httpx and rich only: importing it loads nothing heavier."""
    loaded = "import sys, digits, digits.cli; print(sorted({'numpy', 'onnxruntime', 'PIL', 'app'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", loaded], capture_output=True, text=True, check=True).stdout == "[]\n"


@contextmanager
def slot_held(url: str) -> Iterator[socket.socket]:
    """A request that holds one of the service's MAX_CONCURRENCY slots: its headers sent, its body never."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as holder:
        holder.sendall(b"POST /predict/multiclass HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n")
        holder.sendall(b"content-length: 100\r\n\r\n{")
        time.sleep(0.5)  # the service has started the request
        yield holder


def test_a_refused_request_is_retried_until_the_service_has_room(mnist: Mnist) -> None:
    with service(MAX_CONCURRENCY="1") as url:
        with slot_held(url), pytest.raises(ServiceBusy, match=r"still refused after \d+ tries .*503"):
            DigitsClient(url, retry=RetryPolicy(patience_s=2)).multiclass([mnist.x_test[0]])
        with slot_held(url) as holder:
            threading.Timer(2, holder.close).start()  # room again in 2 s
            start = time.monotonic()
            (result,) = DigitsClient(url, retry=RetryPolicy(patience_s=30)).multiclass([mnist.x_test[0]])
        assert isinstance(result, MulticlassResult) and result.label == mnist.y_test[0]
        assert time.monotonic() - start > 1.5  # it waited for the slot
