"""Prometheus metrics of one app instance (requests are recorded by app.transports.http.middleware.request_context,
gRPC calls by app.transports.grpc.interceptors)."""

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.core.admission import MemoryBudget

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
INSTANCE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
UNMATCHED_ROUTE = "<unmatched>"
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """Request, latency and batch-size metrics in a registry of their own.

    With PROMETHEUS_MULTIPROC_DIR set (WORKERS > 1, see app.transports.http.server) every worker writes its values
    there and /metrics, whichever worker answers it, sums counters and histograms over all of them.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._memory: MemoryCollector | None = None
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._call_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._model_children: dict[str, tuple[Histogram, Histogram, Histogram]] = {}
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the end of the response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.grpc_calls = Counter(
            "grpc_requests",
            "gRPC calls by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.grpc_latency = Histogram(
            "grpc_request_duration_seconds",
            "Time from a gRPC call's start to its answer, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inference_latency = Histogram(
            "model_inference_duration_seconds",
            "onnxruntime time per inference call, by model.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "model_batch_size",
            "Rows per onnxruntime call, by model (several requests when batching is on).",
            ["model"],
            buckets=INSTANCE_BUCKETS,
            registry=self.registry,
        )
        self.workers_ready = Gauge(
            "service_workers_ready",
            "Worker processes with every model loaded and verified (one process: 0 or 1).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.instances = Histogram(
            "predict_instances_per_request",
            "Images per predict request, by model.",
            ["model"],
            buckets=INSTANCE_BUCKETS,
            registry=self.registry,
        )

    def watch_memory(self, budget: MemoryBudget) -> None:
        """Show the memory budget's state on /metrics (read when scraped: nothing is done per request)."""
        self._memory = MemoryCollector(budget)
        self.registry.register(self._memory)

    def _for_model(self, model: str) -> tuple[Histogram, Histogram, Histogram]:
        children = self._model_children.get(model)
        if children is None:
            children = (
                self.inference_latency.labels(model),
                self.batch_size.labels(model),
                self.instances.labels(model),
            )
            self._model_children[model] = children
        return children

    def observe_inference(self, model: str, rows: int, seconds: float) -> None:
        """Record one onnxruntime call: its duration and how many rows it ran."""
        latency, batch_size, _ = self._for_model(model)
        latency.observe(seconds)
        batch_size.observe(rows)

    def observe_instances(self, model: str, count: int) -> None:
        """Record how many images one request sent."""
        self._for_model(model)[2].observe(count)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one HTTP request (labelled children are cached: these run on every request)."""
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = self.requests.labels(route, method, str(status)), self.request_latency.labels(route)
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_call(self, method: str, code: str, seconds: float) -> None:
        """Record one gRPC call: its method (e.g. ModelInfer) and status code name (e.g. OK, INVALID_ARGUMENT)."""
        key = (method, code)
        children = self._call_children.get(key)
        if children is None:
            children = self.grpc_calls.labels(method, code), self.grpc_latency.labels(method)
            self._call_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric, summed over all workers when there are several."""
        if MULTIPROC_DIR_ENV not in os.environ:
            return generate_latest(self.registry)
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        if self._memory is not None:
            workers.register(self._memory)
        return generate_latest(workers)

    def worker_stopped(self) -> None:
        """Drop this worker's live gauges from the sum (multiprocess mode)."""
        self.workers_ready.set(0)
        if MULTIPROC_DIR_ENV in os.environ:
            multiprocess.mark_process_dead(os.getpid())


class MemoryCollector(Collector):
    """The memory budget of this worker (with several workers: of the one answering /metrics)."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget

    def collect(self) -> Iterator[Metric]:
        budget = self.budget
        yield GaugeMetricFamily(
            "memory_budget_bytes", "Bytes this worker may reserve for requests in flight.", value=budget.capacity
        )
        yield GaugeMetricFamily("memory_reserved_bytes", "Bytes reserved by requests in flight.", value=budget.reserved)
        yield GaugeMetricFamily(
            "memory_admission_waiting", "Requests waiting for room in the memory budget.", value=budget.waiting
        )
        yield CounterMetricFamily(
            "memory_admission_waits", "Requests that had to wait for room in the budget.", value=budget.waits
        )
        refusals = CounterMetricFamily(
            "memory_admission_refusals", "Requests refused by the memory budget, by status.", labels=["status"]
        )
        for status, count in budget.refusals.items():
            refusals.add_metric([str(status)], count)
        yield refusals
