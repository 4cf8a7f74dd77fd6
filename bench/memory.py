"""Memory under load: what request bodies expand to, and floods against a memory-limited service.

`python -m bench.memory --expansion`: each kind of large body sent once through the app in this process,
with tracemalloc (Python objects and numpy arrays) measuring the peak above what was allocated before;
divided by the body's length, that is the body's expansion (app.core.admission.BODY_EXPANSION).

`python -m bench.memory [--kinds ...] [--concurrency 64 200]`: floods of concurrent requests against the
service (`python -m app` started here, or `--url` with `--pid` of a running one, e.g. a container's
process): statuses, connection errors, the slowest /healthz during the flood, peak RSS and RSS after.
"""

import argparse
import asyncio
import base64
import io
import json
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.__main__ import REPO, Server, free_port, start_server

MIB = 1024 * 1024
TARGET_BODY = 8_300_000
"""About the largest body MAX_BODY_BYTES (8 MiB) allows, as in the issue."""


@dataclass(frozen=True)
class Body:
    """One request to send: path, body, headers."""

    path: str
    content: bytes
    headers: dict[str, str]
    files: tuple[bytes, ...] = ()
    """A multipart body's files."""


def _long_floats(count: int, target: int, rng: np.random.Generator) -> str:
    """`count` pixel values in [0, 255] as a JSON list, padded with decimals to about `target` bytes."""
    decimals = max(1, target // count - 6)
    return "[" + ", ".join(f"{value:.{decimals}f}" for value in rng.uniform(0, 255, count)) + "]"


def json_floats(rng: np.random.Generator) -> Body:
    """The issue's body: 256 multiclass instances of long floats, about 8.3 MB."""
    instances = ", ".join(_long_floats(784, (TARGET_BODY - 64) // 256, rng) for _ in range(256))
    return Body(
        "/predict/multiclass", b'{"instances": [%s]}' % instances.encode(), {"content-type": "application/json"}
    )


def json_short(rng: np.random.Generator) -> Body:
    """The most values per byte a valid body holds: 256 multilabel canvases of one-digit integers."""
    canvases = rng.integers(0, 10, (256, 56, 56)).tolist()
    return Body(
        "/predict/multilabel", json.dumps({"instances": canvases}).encode(), {"content-type": "application/json"}
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def json_b64(rng: np.random.Generator) -> Body:
    """Base64 PNGs in JSON: 256 noisy 150x150 images (about 7.8 MB)."""
    images = [base64.b64encode(_png(Image.fromarray(rng.integers(0, 256, (150, 150), dtype=np.uint8)))).decode()]
    body = json.dumps({"instances": [{"b64": images[0]}] * 256})
    return Body("/predict/multiclass", body.encode(), {"content-type": "application/json"})


def json_tiny_b64(rng: np.random.Generator) -> Body:
    """The most pixels per body byte: 256 tiny base64 PNGs, each becoming a whole multilabel canvas."""
    image = base64.b64encode(_png(Image.new("L", (8, 8), 0))).decode()
    body = json.dumps({"instances": [{"b64": image}] * 256})
    return Body("/predict/multilabel", body.encode(), {"content-type": "application/json"})


def v2_json(rng: np.random.Generator) -> Body:
    """V2 JSON tensor data: 256 multiclass instances of long floats, about 8.3 MB."""
    data = _long_floats(256 * 28 * 28, TARGET_BODY - 200, rng)
    tensor = b'{"name": "pixels", "shape": [256, 28, 28], "datatype": "FP32", "data": '
    body = b'{"inputs": [' + tensor + data.encode() + b"}]}"
    return Body("/v2/models/mnist-multiclass/infer", body, {"content-type": "application/json"})


def v2_binary(rng: np.random.Generator) -> Body:
    """V2 binary tensor data: 256 multilabel canvases as UINT8 (the most pixels per byte)."""
    binary = rng.integers(0, 256, (256, 56, 56), dtype=np.uint8).tobytes()
    tensor = {"name": "pixels", "shape": [256, 56, 56], "datatype": "UINT8"}
    header = json.dumps({"inputs": [tensor | {"parameters": {"binary_data_size": len(binary)}}]}).encode()
    return Body(
        "/v2/models/mnist-multilabel/infer",
        header + binary,
        {"content-type": "application/octet-stream", "inference-header-content-length": str(len(header))},
    )


def multipart(rng: np.random.Generator) -> Body:
    """Four 2048x2048 PNG uploads: translucent RGBA, the costliest to decode."""
    image = _png(Image.new("RGBA", (2048, 2048), (0, 0, 0, 128)))
    request = httpx.Request("POST", "http://x/", files=[("file", ("heavy.png", image, "image/png"))] * 4)
    body = request.read()
    return Body("/predict/multiclass", body, {"content-type": request.headers["content-type"]}, (image,) * 4)


def multipart_many(rng: np.random.Generator) -> Body:
    """256 noisy 160x160 PNG uploads (about 6.5 MB): the body itself is large."""
    image = _png(Image.fromarray(rng.integers(0, 256, (160, 160), dtype=np.uint8)))
    request = httpx.Request("POST", "http://x/", files=[("file", ("n.png", image, "image/png"))] * 256)
    return Body(
        "/predict/multiclass", request.read(), {"content-type": request.headers["content-type"]}, (image,) * 256
    )


KINDS: dict[str, Callable[[np.random.Generator], Body]] = {
    "json": json_floats,
    "json-short": json_short,
    "json-b64": json_b64,
    "json-tiny-b64": json_tiny_b64,
    "v2-json": v2_json,
    "v2-binary": v2_binary,
    "multipart": multipart,
    "multipart-many": multipart_many,
}


def _traced_peak(work: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc while work() runs, above what was allocated before."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    work()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def _parse(body: Body, app: object) -> Callable[[], object]:
    """The parse the work pool runs for this body (the same functions as the routes)."""
    from app.core.budgets import RequestBudget
    from app.core.inputs import parse_form, parse_json_body
    from app.core.oip import parse_infer_request
    from app.transports.http.deps import services_of

    services = services_of(app)  # type: ignore[arg-type]
    task = "multilabel" if "multilabel" in body.path else "multiclass"
    spec = services.registry.for_task(task).spec

    def budget() -> RequestBudget:
        return RequestBudget(services.settings.request_limits)

    if body.path.startswith("/v2"):
        split = body.headers.get("inference-header-content-length")
        return lambda: parse_infer_request(body.content, None if split is None else int(split), spec, budget())
    if body.files:
        return lambda: parse_form(list(body.files), {}, spec, budget())
    return lambda: parse_json_body(body.content, spec, budget())


async def _expansion(kinds: list[str]) -> None:
    """Print, per body byte: the peak of the whole request, and of its parse alone (the work pool's share)."""
    from app.main import create_app
    from app.operations.config import Settings
    from app.transports.http.deps import services_of

    app = create_app(Settings(models_dir=REPO / "models", memory_budget_bytes=1 << 40))
    services_of(app).registry.load()
    transport = httpx.ASGITransport(app=app)
    rng = np.random.default_rng(0)
    print("| body | bytes | status | request peak | per byte | parse peak | per byte | request - parse, per byte |")
    print("|---|---|---|---|---|---|---|---|")
    async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=60) as client:
        for kind in kinds:
            body = KINDS[kind](rng)
            size = len(body.content)
            statuses = set()

            requests, parses = [], []
            for _ in range(3):
                tracemalloc.start()
                before = tracemalloc.get_traced_memory()[0]
                response = await client.post(body.path, content=body.content, headers=body.headers)
                requests.append(tracemalloc.get_traced_memory()[1] - before)
                tracemalloc.stop()
                statuses.add(response.status_code)
                parses.append(_traced_peak(_parse(body, app)))
            request, parse = statistics.median(requests), statistics.median(parses)
            print(
                f"| {kind} | {size:,} | {statuses} | {request / MIB:.1f} MiB | {request / size:.2f} "
                f"| {parse / MIB:.1f} MiB | {parse / size:.2f} | {(request - parse) / size:.2f} |"
            )


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class FloodResult:
    kind: str
    concurrency: int
    statuses: Counter[str]
    retry_after_missing: int
    slowest_health_s: float
    rss_before: int
    rss_peak: int
    rss_after: int
    seconds: float

    def answered_well(self) -> bool:
        """Every request answered 200, or 503 with Retry-After; /healthz always within a second."""
        return set(self.statuses) <= {"200", "503"} and not self.retry_after_missing and self.slowest_health_s < 1


async def flood(url: str, pid: int, body: Body, kind: str, concurrency: int) -> FloodResult:
    """`concurrency` requests at once, each on its own connection, with /healthz and RSS watched meanwhile."""
    rss_before = rss_bytes(pid)
    peak = rss_before
    slowest = 0.0
    done = asyncio.Event()

    async def watch() -> None:
        """curl times /healthz from a process of its own: this one's event loop is busy sending the flood."""
        nonlocal peak, slowest
        probe = ["curl", "-sS", "-o", "/dev/null", "-m", "10", "-w", "%{time_total}", f"{url}/healthz"]
        while not done.is_set():
            curl = await asyncio.create_subprocess_exec(*probe, stdout=asyncio.subprocess.PIPE)
            output, _ = await curl.communicate()
            slowest = max(slowest, float(output or 10) if curl.returncode == 0 else 10.0)
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.05)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    statuses: Counter[str] = Counter()
    missing = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one() -> None:
            nonlocal missing
            try:
                response = await client.post(body.path, content=body.content, headers=body.headers)
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
                return
            statuses[str(response.status_code)] += 1
            if response.status_code == 503 and "retry-after" not in response.headers:
                missing += 1

        watcher = asyncio.ensure_future(watch())
        await asyncio.gather(*(one() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
        done.set()
        await watcher
    await asyncio.sleep(2)
    return FloodResult(kind, concurrency, statuses, missing, slowest, rss_before, peak, rss_bytes(pid), seconds)


def print_floods(results: list[FloodResult], limit: str) -> None:
    print(f"\n| body | concurrent | answers | slowest /healthz | RSS before | peak | after | time | limit {limit} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        answers = ", ".join(f"{count} x {status}" for status, count in sorted(r.statuses.items()))
        if r.retry_after_missing:
            answers += f" ({r.retry_after_missing} 503 without Retry-After)"
        print(
            f"| {r.kind} | {r.concurrency} | {answers} | {r.slowest_health_s:.2f} s | {r.rss_before / MIB:.0f} MiB "
            f"| {r.rss_peak / MIB:.0f} MiB | {r.rss_after / MIB:.0f} MiB | {r.seconds:.0f} s | |"
        )


async def _floods(url: str, pid: int, kinds: list[str], concurrency: list[int], limit: str) -> list[FloodResult]:
    rng = np.random.default_rng(0)
    results = []
    for kind in kinds:
        body = KINDS[kind](rng)
        for count in concurrency:
            results.append(await flood(url, pid, body, kind, count))
            print_floods(results[-1:], limit)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expansion", action="store_true", help="measure each body's expansion in this process")
    parser.add_argument("--kinds", nargs="+", default=["json", "v2-json", "multipart"], choices=list(KINDS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[64, 200])
    parser.add_argument("--url", help="a running service (default: start `python -m app` here)")
    parser.add_argument("--pid", type=int, help="the running service's process id (for its RSS)")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE settings for the service started here")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless every request got 200 or 503 with Retry-After and /healthz always answered within 1 s",
    )
    args = parser.parse_args()
    if args.expansion:
        asyncio.run(_expansion(args.kinds))
        return 0
    if args.url:
        results = asyncio.run(_floods(args.url, args.pid, args.kinds, args.concurrency, "(container)"))
    else:
        port = free_port()
        env = tuple(tuple(item.split("=", 1)) for item in args.env)
        server = start_server(Server("service", "service", env), port, "0-1", REPO / "models")  # type: ignore[arg-type]
        try:
            results = asyncio.run(
                _floods(f"http://127.0.0.1:{port}", server.pid, args.kinds, args.concurrency, " ".join(args.env))
            )
        finally:
            server.terminate()
            server.wait()
    print("\nAll floods:")
    print_floods(results, "")
    failures = [r for r in results if not r.answered_well()]
    if args.check and failures:
        print(f"failed: {', '.join(f'{r.kind} x {r.concurrency}' for r in failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
