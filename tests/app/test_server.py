"""WORKERS=N: several processes on one port, /metrics summed over all of them."""

import json
import re
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.app.conftest import SHIPPED_MODELS, free_port, start_service, wait_until_ready

REQUESTS = 40


def _sample(metrics: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def test_two_workers_sum_their_counters_histograms_and_readiness() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_service(SHIPPED_MODELS, port, WORKERS="2", LOG_LEVEL="warning")
    body = {"instances": [np.zeros(784).tolist()] * 3}
    try:
        wait_until_ready(process, url, timeout_s=60)
        for _ in range(REQUESTS):  # a new connection each time: the workers share them out
            assert httpx.post(f"{url}/predict/multiclass", json=body).status_code == 200
        scrapes = [httpx.get(f"{url}/metrics").text for _ in range(10)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    for metrics in scrapes:  # whichever worker answers, it reports both
        assert _sample(metrics, "service_workers_ready") == 2
        route = '{method="POST",route="/predict/multiclass",status="200"}'
        assert _sample(metrics, "http_requests_total", route) == REQUESTS
        assert _sample(metrics, "predict_instances_per_request_count", '{model="mnist-multiclass"}') == REQUESTS
        assert _sample(metrics, "predict_instances_per_request_sum", '{model="mnist-multiclass"}') == 3 * REQUESTS


def wait_for_workers(url: str, count: int, timeout_s: float = 60) -> None:
    """Poll /metrics until `count` workers say they are ready (service_workers_ready sums them)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if f"service_workers_ready {count}.0" in httpx.get(f"{url}/metrics").text:
            return
        time.sleep(0.2)
    pytest.fail(f"{count} workers were not ready in {timeout_s} s")


def test_admin_reload_reaches_every_worker_once(models_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_service(models_dir, port, WORKERS="2", ADMIN_KEY="admin-secret-for-tests", LOG_FORMAT="json")
    try:
        wait_until_ready(process, url, timeout_s=60)
        wait_for_workers(url, 2)  # a worker not started yet would miss the SIGHUP
        card_path = models_dir / "mnist-multilabel" / "model.json"
        card_path.write_text(card_path.read_text().replace('"version": "1.0.0"', '"version": "1.0.1"'))
        reload = httpx.post(f"{url}/admin/reload", headers={"Authorization": "Bearer admin-secret-for-tests"})
        assert reload.json()["models"]["mnist-multilabel"] == "1.0.1"
        time.sleep(5)  # the other worker reloads on the SIGHUP the supervisor forwards
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines()]
    workers = {line["pid"] for line in lines if line["message"].startswith("Started server process")}
    reloads = Counter(line["pid"] for line in lines if line["message"].startswith("reload"))
    assert len(workers) == 2 and reloads == dict.fromkeys(workers, 1)  # once each, the worker that answered too
    assert all("1.0.1" in line["message"] for line in lines if line["message"].startswith("reload"))


@pytest.mark.parametrize(("env", "logged"), [({}, "127.0.0.1"), ({"FORWARDED_ALLOW_IPS": "127.0.0.1"}, "203.0.113.9")])
def test_x_forwarded_for_is_trusted_only_from_forwarded_allow_ips(env: dict[str, str], logged: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_service(SHIPPED_MODELS, port, LOG_FORMAT="json", ACCESS_LOG="true", **env)
    try:
        wait_until_ready(process, url)
        httpx.get(f"{url}/healthz", headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "forwarded"})
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    (line,) = [json.loads(line) for line in stderr.splitlines() if '"forwarded"' in line]
    assert line["client"].split(":")[0] == logged
