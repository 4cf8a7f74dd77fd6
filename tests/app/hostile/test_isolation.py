"""Requests are isolated: heavy uploads never stall health checks or small predictions, and the work of a
client that went away stops. Against a real process with one worker and the default limits."""

import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from bench.heavy_requests import heaviest_upload
from tests.app.conftest import SHIPPED_MODELS
from tests.app.hostile.attack import cpu_seconds, raw_connection, started

ATTACK_SECONDS = 6.0


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[object, str]]:
    process, url = started(SHIPPED_MODELS, MAX_INSTANCES="256", MAX_REQUEST_PIXELS=str(64 * 2048 * 2048))
    yield process, url
    process.terminate()
    process.wait(timeout=10)


def test_health_and_small_predictions_answer_while_two_clients_send_the_heaviest_uploads(service) -> None:
    _, url = service
    files = heaviest_upload()
    stop = threading.Event()
    answered: list[int] = []

    def attacker() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                answered.append(client.post(f"{url}/predict/multiclass", files=files).status_code)

    attackers = [threading.Thread(target=attacker) for _ in range(2)]
    for thread in attackers:
        thread.start()
    latencies: dict[str, list[float]] = {"healthz": [], "predict": []}
    digit = {"instances": [np.zeros(784).tolist()]}
    try:
        time.sleep(0.5)
        end = time.monotonic() + ATTACK_SECONDS
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < end:
                start = time.perf_counter()
                assert client.get(f"{url}/healthz").status_code == 200
                latencies["healthz"].append(time.perf_counter() - start)
                start = time.perf_counter()
                assert client.post(f"{url}/predict/multiclass", json=digit).status_code == 200
                latencies["predict"].append(time.perf_counter() - start)
                time.sleep(0.02)
    finally:
        stop.set()
        for thread in attackers:
            thread.join(timeout=30)
    assert answered and set(answered) == {200}, answered
    for name, seconds in latencies.items():
        p95, worst = np.percentile(seconds, 95), max(seconds)
        assert p95 <= 0.25 and worst <= 1.0, f"{name}: p95 {p95:.3f} s, worst {worst:.3f} s"


def test_the_work_of_a_client_that_went_away_stops_within_a_second(service) -> None:
    process, url = service
    files = heaviest_upload(images=64)  # about 8 s of decoding
    request = httpx.Request("POST", f"{url}/predict/multiclass", files=files)
    head = f"POST /predict/multiclass HTTP/1.1\r\nHost: x\r\ncontent-type: {request.headers['content-type']}\r\n"
    body = request.read()
    before = cpu_seconds(process.pid)
    connection = raw_connection(url, f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
    time.sleep(1.5)
    busy = cpu_seconds(process.pid) - before
    connection.close()
    time.sleep(1.0)
    settled = cpu_seconds(process.pid)
    time.sleep(1.0)
    after = cpu_seconds(process.pid) - settled
    assert busy > 0.5, f"the upload kept the service busy for only {busy:.2f} CPU seconds"
    assert after < 0.15, f"{after:.2f} CPU seconds spent in the second after the work should have stopped"
