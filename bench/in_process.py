"""The service's own cost per request, in process: single-image requests driven through the whole ASGI app
(middleware, routing, handler, model), without sockets or HTTP parsing, so it is far less noisy than wrk.

    python -m bench.in_process [--requests 500] [--rounds 20] [--max-ratio N]

To compare with another checkout, run its app with this file: PYTHONPATH=<checkout> python bench/in_process.py
(the app is imported from the first `app` package on the path). Prints, per endpoint, the microseconds per
request of the fastest round and the median round, in wall time and in the process's CPU time. On a shared
machine the fastest round is the steadiest figure: other load only ever adds to a round.

The yardstick, measured in the same rounds: the least any server must do for the same predict body, orjson
parse + onnxruntime run + orjson dump of the logits (onnxruntime on one thread in both). Each endpoint's cost
is also given in yardsticks: the median over the rounds of its CPU time over the yardstick's, the two taking
turns every TURN calls, which a busy machine moves far less than the times. With --max-ratio the run fails
(exit 1) when /predict/multiclass costs more than N yardsticks: CI's guard against a slower request path.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import app
from app.core.runtime import open_session
from app.main import create_app
from app.operations.config import Settings

REPO = Path(__file__).resolve().parent.parent
PREDICT = "/predict/multiclass"
YARDSTICK = "yardstick"
TURN = 20
"""Calls an endpoint or the yardstick makes before the other takes its turn."""
ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


def bodies() -> dict[str, bytes]:
    """One random 28x28 digit as a predict body and as a V2 infer body, by path."""
    pixels = np.random.default_rng(0).integers(0, 256, size=784).tolist()
    infer = {"inputs": [{"name": "pixels", "shape": [1, 28, 28], "datatype": "FP32", "data": pixels}]}
    return {
        PREDICT: json.dumps({"instances": [pixels]}).encode(),
        "/v2/models/mnist-multiclass/infer": json.dumps(infer).encode(),
    }


async def start(asgi: ASGIApp) -> tuple[dict[str, Any], Callable[[], Awaitable[None]]]:
    """Run the app's lifespan startup; return its state and a function that shuts it down."""
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "lifespan.startup"})
    task = asyncio.ensure_future(
        asgi({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, inbox.get, outbox.put)
    )
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def stop() -> None:
        inbox.put_nowait({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return state, stop


async def one_request(asgi: ASGIApp, state: dict[str, Any], path: str, body: bytes) -> int:
    """Status of one POST of `body` to `path`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": dict(state),
    }
    sent = False
    never = asyncio.Event()
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await asgi(scope, receive, send)
    return status


def yardstick(body: bytes) -> Callable[[], bytes]:
    """orjson parse + onnxruntime run + orjson dump of the logits, for one predict body."""
    session = open_session(REPO / "models" / "mnist-multiclass" / "model.onnx", threads=1)

    def run() -> bytes:
        pixels = np.asarray(orjson.loads(body)["instances"], dtype=np.float32).reshape(-1, 28, 28)
        return orjson.dumps({"logits": session.run(None, {"pixels": pixels})[0]}, option=orjson.OPT_SERIALIZE_NUMPY)

    return run


@dataclass
class Tally:
    """Calls made and wall and CPU seconds spent, over one round."""

    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0

    def per_call_us(self) -> tuple[float, float]:
        return self.wall / self.calls * 1e6, self.cpu / self.calls * 1e6


async def timed(tally: Tally, calls: int, work: Callable[[], Awaitable[object]]) -> None:
    """Run work `calls` times and add the time it took to the tally."""
    began, began_cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await work()
    tally.calls += calls
    tally.wall += time.perf_counter() - began
    tally.cpu += time.process_time() - began_cpu


async def measure(requests: int, rounds: int) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[float]]]:
    """Per endpoint and for the yardstick, the mean wall and CPU microseconds per request of each round (after
    a warm-up); and per endpoint and round, its CPU time over the yardstick's. Within a round each endpoint and
    the yardstick take turns every TURN calls, so a slow spell of a shared machine slows both alike."""
    asgi: Any = create_app(Settings(models_dir=REPO / "models", ort_threads=1))
    state, stop = await start(asgi)
    cases = bodies()
    run_yardstick = yardstick(cases[PREDICT])

    async def yardstick_call() -> bytes:
        return run_yardstick()

    results: dict[str, list[tuple[float, float]]] = {path: [] for path in [*cases, YARDSTICK]}
    ratios: dict[str, list[float]] = {path: [] for path in cases}
    try:
        for path, body in cases.items():
            for _ in range(requests // 10):
                assert await one_request(asgi, state, path, body) == 200
                run_yardstick()
        for _ in range(rounds):
            for path, body in cases.items():
                endpoint, reference = Tally(), Tally()
                for _ in range(max(1, requests // TURN)):
                    await timed(endpoint, TURN, lambda: one_request(asgi, state, path, body))  # noqa: B023
                    await timed(reference, TURN, yardstick_call)
                results[path].append(endpoint.per_call_us())
                results[YARDSTICK].append(reference.per_call_us())
                ratios[path].append(endpoint.cpu / endpoint.calls / (reference.cpu / reference.calls))
    finally:
        await stop()
    return results, ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per endpoint and round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--max-ratio", type=float, help=f"fail when {PREDICT} costs more than this many yardsticks")
    args = parser.parse_args()
    print(f"app from {Path(app.__file__).parent}")
    results, per_round = asyncio.run(measure(args.requests, args.rounds))
    ratios = {path: statistics.median(values) for path, values in per_round.items()} | {YARDSTICK: 1.0}
    for path, rounds in results.items():
        wall, cpu = ([round_[i] for round_ in rounds] for i in (0, 1))
        print(
            f"{path:36} us/request: wall fastest {min(wall):6.1f} median {statistics.median(wall):6.1f}; "
            f"CPU fastest {min(cpu):6.1f} median {statistics.median(cpu):6.1f}; {ratios[path]:.2f} yardsticks"
        )
    ratio = ratios[PREDICT]
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f"FAIL: {PREDICT} costs {ratio:.2f} yardsticks, more than {args.max_ratio:g} (--max-ratio)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
