"""WORKERS=N: several processes on one port, /metrics summed over all of them."""

import re

import httpx
import numpy as np

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
