"""`make soak`: the service under steady mixed load for SOAK_SECONDS (default 600), then three checks.

It first measures the most requests/s this load generator gets through the service (closed loop,
16 connections, the same mix), then sends 70 % of that on a fixed schedule (open loop: a late
request's latency counts from when it was due). The mix: both predict endpoints, V2 infer,
/models, /metrics, /readyz, and 5 % bad inputs that must get their 4xx. Checks, after a warm-up
(the first 10 % of the run, at least 10 s):
- 0 unexpected statuses (and 0 connection errors);
- resident memory grows at most 10 % over its size at the end of the warm-up;
- p99 is stable: the last third's p99 is at most 2x the first third's (after the warm-up), or at most
  20 ms above it (a p99 of a few ms doubles with scheduling jitter alone).
It also prints, by window, the service's CPU time per request (neighbours barely move it) and
how long it waited for a CPU other processes held (what neighbours cost it).
One worker pinned to core 0, this generator on core 1. Writes bench/results/soak-latest.json.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.__main__ import REPO, free_port, rss_mb

CONNECTIONS = 16
MAX_PROBE_S = 5.0
LOAD_SHARE = 0.7
WINDOWS = 6
RSS_GROWTH_LIMIT = 0.10
P99_DRIFT_LIMIT = 2.0
# A few milliseconds of scheduling jitter double a p99 of 5 ms: a rise within this is not instability.
P99_SLACK_MS = 20.0


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: its share, its bytes on the wire, the status it must get."""

    name: str
    weight: int
    wire: bytes
    expected: int


def http_request(method: str, path: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: soak\r\n"
    if method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def request_mix() -> list[Kind]:
    """Real MNIST test digits and canvases in every endpoint's format, and the bad inputs (5 %)."""
    from training.data import load_mnist, make_canvases

    mnist = load_mnist()
    digits = mnist.x_test[:16]
    canvas = make_canvases(mnist.x_test, mnist.y_test, 1, seed=3)[0]

    def predict(task: str, images: np.ndarray) -> bytes:
        body = json.dumps({"instances": images.reshape(len(images), -1).tolist()}).encode()
        return http_request("POST", f"/predict/{task}", body)

    def v2_infer(images: np.ndarray) -> bytes:
        tensor = {"name": "pixels", "shape": list(images.shape), "datatype": "UINT8", "data": images.ravel().tolist()}
        return http_request("POST", "/v2/models/mnist-multiclass/infer", json.dumps({"inputs": [tensor]}).encode())

    wrong_size = json.dumps({"instances": [digits[0].ravel()[:783].tolist()]}).encode()
    return [
        Kind("multiclass, 1 image", 33, predict("multiclass", digits[:1]), 200),
        Kind("multiclass, 16 images", 5, predict("multiclass", digits), 200),
        Kind("multilabel, 1 image", 20, predict("multilabel", canvas), 200),
        Kind("V2 infer", 15, v2_infer(digits[:2]), 200),
        Kind("GET /models", 12, http_request("GET", "/models"), 200),
        Kind("GET /metrics", 5, http_request("GET", "/metrics"), 200),
        Kind("GET /readyz", 5, http_request("GET", "/readyz"), 200),
        Kind("bad: 783 pixels", 2, http_request("POST", "/predict/multiclass", wrong_size), 422),
        Kind("bad: broken JSON", 1, http_request("POST", "/predict/multilabel", b'{"instances": [['), 422),
        Kind("bad: text/plain", 1, http_request("POST", "/predict/multiclass", b"7", "text/plain"), 415),
        Kind("bad: V2 shape", 1, v2_infer(np.zeros((1, 27, 27), dtype=np.uint8)), 400),
    ]


@dataclass
class Sample:
    at_s: float  # when the request was due, from the start of the run
    kind: int
    status: int  # 0: connection error
    latency_ms: float


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: bytes) -> tuple[int, bool]:
    """Send one request on a keep-alive connection and read its whole response; its status, and whether the
    server closes the connection after it (an answer sent before the body was read does)."""
    writer.write(wire)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
    await reader.readexactly(int(length.group(1)) if length else 0)
    closes = re.search(rb"\r\nconnection: *close", head, re.IGNORECASE) is not None
    return int(head.split(b" ", 2)[1]), closes


async def connection(
    port: int, kinds: list[Kind], start: float, end: float, interval: float | None, seed: int, samples: list[Sample]
) -> None:
    """One keep-alive connection: back to back (interval None) or one request every `interval` seconds."""
    rng = random.Random(seed)
    weights = [kind.weight for kind in kinds]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = start + (rng.random() * interval if interval else 0)
    loop = asyncio.get_running_loop()
    try:
        while True:
            now = loop.time()
            if interval is not None and due > now:
                await asyncio.sleep(due - now)
            due = due if interval is not None else loop.time()
            if due >= end:
                return
            index = rng.choices(range(len(kinds)), weights)[0]
            try:
                status, closes = await exchange(reader, writer, kinds[index].wire)
            except (OSError, asyncio.IncompleteReadError):
                status, closes = 0, True
            if closes:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            samples.append(Sample(due - start, index, status, (loop.time() - due) * 1000))
            if interval is not None:
                due += interval
    finally:
        writer.close()


async def drive(port: int, kinds: list[Kind], seconds: float, rate: float | None) -> list[Sample]:
    """CONNECTIONS connections for `seconds`: as fast as they go (rate None) or `rate` requests/s in all."""
    samples: list[Sample] = []
    start = asyncio.get_running_loop().time()
    interval = CONNECTIONS / rate if rate else None
    await asyncio.gather(
        *(connection(port, kinds, start, start + seconds, interval, seed, samples) for seed in range(CONNECTIONS))
    )
    return samples


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_wait_seconds(pid: int) -> float:
    """Time the process's threads were ready to run but waited for a CPU (other processes had it)."""
    return sum(int(path.read_text().split()[1]) for path in Path(f"/proc/{pid}/task").glob("*/schedstat")) / 1e9


async def sample_process(
    pid: int, every_s: float, usage: list[tuple[float, float, float, float]], stop: asyncio.Event
) -> None:
    """Every `every_s`: (seconds since start, resident MB, CPU seconds used, CPU seconds waited) of the service."""
    start = time.monotonic()
    while not stop.is_set():
        usage.append((time.monotonic() - start, rss_mb(pid), cpu_seconds(pid), cpu_wait_seconds(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def soak(port: int, pid: int, kinds: list[Kind], seconds: float, rate: float) -> tuple[list[Sample], list]:
    usage: list[tuple[float, float, float, float]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_process(pid, 1.0, usage, stop))
    samples = await drive(port, kinds, seconds, rate)
    stop.set()
    await sampler
    return samples, usage


def p99(latencies: list[float]) -> float:
    return float(np.percentile(latencies, 99)) if latencies else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", "600")),
        help="length of the soak (default: SOAK_SECONDS, else 600); at least 30",
    )
    args = parser.parse_args()
    if args.seconds < 30:
        parser.error("--seconds must be at least 30 (10 s warm-up, then the measured windows)")
    kinds = request_mix()
    port = free_port()
    # The soak measures the REST path, with gRPC off (SOAK_GRPC_PORT sets it, e.g. 8001, to soak with it on). With
    # grpc.aio serving in the same process, two of three 60 s soaks failed the p99 check (windows up to 64 and
    # 900 ms); with GRPC_PORT=0 two of two passed (windows 9-13 and 16-47 ms). Too few runs to be sure it is gRPC's
    # poller: an open question of the gRPC transport.
    grpc_port = os.environ.get("SOAK_GRPC_PORT", "0")
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "warning", "WORKERS": "1"}
    env["GRPC_PORT"] = grpc_port
    process = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "app"], cwd=REPO, env=env)
    os.sched_setaffinity(0, {1} if len(os.sched_getaffinity(0)) > 1 else os.sched_getaffinity(0))
    try:
        deadline = time.monotonic() + 60
        while not ready(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the service did not become ready in 60 s")
            time.sleep(0.2)
        asyncio.run(drive(port, kinds, 2.0, None))  # warm-up
        probe = asyncio.run(drive(port, kinds, MAX_PROBE_S, None))
        max_rate = len(probe) / MAX_PROBE_S
        rate = LOAD_SHARE * max_rate
        print(
            f"most this generator gets through: {max_rate:,.0f} requests/s; soaking at {rate:,.0f}/s "
            f"for {args.seconds:.0f} s",
            flush=True,
        )
        samples, usage = asyncio.run(soak(port, process.pid, kinds, args.seconds, rate))
    finally:
        process.terminate()
        process.wait(timeout=60)
    return report(kinds, samples, usage, args.seconds, max_rate, rate)


def ready(port: int) -> bool:
    """True once /readyz answers 200."""

    async def readyz() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return (await exchange(reader, writer, http_request("GET", "/readyz")))[0]
        finally:
            writer.close()

    try:
        return asyncio.run(readyz()) == 200
    except OSError:
        return False


def report(kinds: list[Kind], samples: list[Sample], usage: list, seconds: float, max_rate: float, rate: float) -> int:
    """Print the figures and the three checks; 0 when all pass.

    Also the service's CPU time per request by window: unlike latency, neighbours on a shared
    machine barely move it, so a flat line there says the service itself does not slow down.
    """
    warm_up = max(10.0, seconds / 10)
    unexpected = [s for s in samples if s.status != kinds[s.kind].expected]
    measured = [s for s in samples if s.at_s >= warm_up]
    window_s = (seconds - warm_up) / WINDOWS
    window_p99 = [
        p99([s.latency_ms for s in measured if warm_up + i * window_s <= s.at_s < warm_up + (i + 1) * window_s])
        for i in range(WINDOWS)
    ]
    rss_after_warm_up = [mb for at, mb, _, _ in usage if at >= warm_up]
    rss_at_warm_up, rss_peak = rss_after_warm_up[0], max(rss_after_warm_up)
    growth = rss_peak / rss_at_warm_up - 1
    window_cpu, window_wait = [], []
    for i in range(WINDOWS):
        begin, end = warm_up + i * window_s, warm_up + (i + 1) * window_s
        inside = [(at, cpu, wait) for at, _, cpu, wait in usage if begin <= at <= end]
        served = sum(1 for s in measured if len(inside) > 1 and inside[0][0] <= s.at_s < inside[-1][0])
        window_cpu.append((inside[-1][1] - inside[0][1]) * 1000 / served if served else float("nan"))
        span = inside[-1][0] - inside[0][0] if len(inside) > 1 else float("nan")
        window_wait.append((inside[-1][2] - inside[0][2]) * 1000 / span if len(inside) > 1 else float("nan"))
    third_s = (seconds - warm_up) / 3
    first_p99 = p99([s.latency_ms for s in measured if s.at_s < warm_up + third_s])
    last_p99 = p99([s.latency_ms for s in measured if s.at_s >= seconds - third_s])
    drift = last_p99 / first_p99
    checks = {
        "unexpected statuses": (len(unexpected) == 0, f"{len(unexpected)} of {len(samples):,}"),
        "RSS growth after warm-up": (
            growth <= RSS_GROWTH_LIMIT,
            f"{rss_at_warm_up:.0f} MB -> peak {rss_peak:.0f} MB ({growth:+.1%}, limit +10%)",
        ),
        "p99 stable": (
            drift <= P99_DRIFT_LIMIT or last_p99 - first_p99 <= P99_SLACK_MS,
            f"first third {first_p99:.1f} ms, last third {last_p99:.1f} ms ({drift:.2f}x, limit 2x or +20 ms); "
            f"by {window_s:.0f} s window: {', '.join(f'{v:.1f}' for v in window_p99)} ms",
        ),
    }
    print(
        f"\n{len(samples):,} requests in {seconds:.0f} s ({len(samples) / seconds:,.0f}/s, "
        f"{LOAD_SHARE:.0%} of {max_rate:,.0f}/s), warm-up {warm_up:.0f} s\n"
    )
    print("| request | share | expected | count | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|")
    for index, kind in enumerate(kinds):
        latencies = [s.latency_ms for s in measured if s.kind == index]
        p50 = float(np.median(latencies)) if latencies else float("nan")
        print(
            f"| {kind.name} | {kind.weight}% | {kind.expected} | {len(latencies):,} | {p50:.2f} | "
            f"{p99(latencies):.2f} |"
        )
    all_latencies = [s.latency_ms for s in measured]
    print(
        f"| all, after warm-up | | | {len(all_latencies):,} | {float(np.median(all_latencies)):.2f} | "
        f"{p99(all_latencies):.2f} |\n"
    )
    print(f"service CPU per request by {window_s:.0f} s window: {', '.join(f'{v:.3f}' for v in window_cpu)} ms")
    print(
        f"service waiting for a CPU held by another process, by window: "
        f"{', '.join(f'{v:.0f}' for v in window_wait)} ms per second"
    )
    for name, (ok, detail) in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    for sample in unexpected[:10]:
        print(f"  unexpected: {kinds[sample.kind].name} got {sample.status or 'a connection error'}")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "soak-latest.json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "max_rate": max_rate,
                "rate": rate,
                "requests": len(samples),
                "unexpected": len(unexpected),
                "usage_s_mb_cpu": usage,
                "window_p99_ms": window_p99,
                "window_cpu_ms_per_request": window_cpu,
                "window_cpu_wait_ms_per_s": window_wait,
                "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
            },
            indent=2,
        )
    )
    return 0 if all(ok for ok, _ in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
