"""`make bench`: the service against its yardsticks, all measured in this one run.

Servers run pinned to one core (taskset), one worker; wrk drives them from another core, the
servers taking turns on each scenario over several rounds (medians are reported).
Yardsticks: onnxruntime in-process on the same inputs; a bare Starlette endpoint that only
parses the same JSON (the HTTP + JSON floor); a plain FastAPI + pydantic endpoint doing the same
inference. The V2 part sends V2 infer JSON and binary tensors (multiclass) to the service. Another
part runs the service with adaptive batching on and off. The last runs it with 1 and with 2
workers, each on both cores and sharing them with wrk. The gRPC part sends the same images to one
service over REST V2 (JSON, and binary tensors) with wrk and over gRPC with bench.grpc_load, taking
turns likewise. Prints Markdown tables
and the target ratios; writes bench/results/latest.json. With --baseline, the service of another
checkout (e.g. `git worktree add ../before main`) takes its turns beside them, for a before/after
in one run.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.core.runtime import open_session
from bench.onnx_latency import latencies_us

REPO = Path(__file__).resolve().parent.parent
SHAPES = {"multiclass": (28, 28), "multilabel": (56, 56)}
MODEL_NAMES = {"multiclass": "mnist-multiclass", "multilabel": "mnist-multilabel"}
LUA = 'wrk.method = "POST"\n{headers}wrk.body = io.open("{body}", "rb"):read("*a")\n'
PROTOCOLS = ("REST V2 JSON", "REST V2 binary", "gRPC")
V2_INFER = "/v2/models/mnist-multiclass/infer"
PATHS = {"multiclass": "/predict/multiclass", "multilabel": "/predict/multilabel", "v2-json": V2_INFER}
PATHS["v2-binary"] = V2_INFER
"""Where each kind of body goes: the predict routes, and V2 infer with JSON or binary tensors (multiclass)."""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
WRK_PATTERNS = {
    "requests": r"^Requests/sec:\s+([\d.]+)",
    "p50": r"^\s+50%\s+(\S+)\s*$",
    "p99": r"^\s+99%\s+(\S+)\s*$",
    "non_2xx": r"Non-2xx or 3xx responses: (\d+)",
    "socket_errors": r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
}
WRK_TIMEOUT = "30s"  # wrk's default of 2 s drops the slowest 64-image responses from the latency figures


@dataclass(frozen=True)
class Server:
    """A server to measure: the service (with extra settings) or a yardstick."""

    name: str
    kind: str  # service, or a yardstick of bench.yardsticks
    env: tuple[tuple[str, str], ...] = ()
    repo: Path = REPO  # the checkout it runs from


@dataclass(frozen=True)
class LoadResult:
    server: str
    task: str
    images: int
    connections: int
    requests_per_s: float
    images_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


YARDSTICK_SERVERS = [
    Server("service", "service"),
    Server("floor", "floor"),
    Server("floor-orjson", "floor-orjson"),
    Server("plain", "plain"),
]
BATCHING_SERVERS = [
    Server("batching on", "service", (("ADAPTIVE_BATCHING", "true"),)),
    Server("batching off", "service", (("ADAPTIVE_BATCHING", "false"),)),
]
# Both on every core, wrk too: onnxruntime gets the cores a worker's share allows (the default).
WORKERS_SERVERS = [
    Server("1 worker", "service", (("WORKERS", "1"), ("ORT_THREADS", "2"))),
    Server("2 workers", "service", (("WORKERS", "2"), ("ORT_THREADS", "1"))),
]
ALL_CORES = "0,1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def real_bodies(folder: Path, batch_sizes: list[int]) -> dict[tuple[str, int], Path]:
    """JSON bodies of flat raw-pixel images: MNIST test digits and canvases built from them."""
    from training.data import load_mnist, make_canvases

    mnist = load_mnist()
    canvases, _ = make_canvases(mnist.x_test, mnist.y_test, max(batch_sizes), seed=0)
    images = {"multiclass": mnist.x_test, "multilabel": canvases}
    bodies = {}
    for task, pool in images.items():
        for size in batch_sizes:
            path = folder / f"{task}-{size}.json"
            path.write_text(json.dumps({"instances": pool[:size].reshape(size, -1).tolist()}))
            bodies[task, size] = path
    for size in batch_sizes:
        digits = mnist.x_test[:size]
        tensor = {"name": "pixels", "shape": [size, 28, 28], "datatype": "FP32"}
        bodies["v2-json", size] = folder / f"v2-json-{size}.json"
        bodies["v2-json", size].write_text(json.dumps({"inputs": [tensor | {"data": digits.reshape(-1).tolist()}]}))
        header = json.dumps(
            {"inputs": [tensor | {"datatype": "UINT8", "parameters": {"binary_data_size": digits.size}}]}
        )
        write_v2_binary(folder / f"v2-binary-{size}.bin", header.encode(), digits.astype(np.uint8).tobytes())
        bodies["v2-binary", size] = folder / f"v2-binary-{size}.bin"
    return bodies


def write_v2_binary(body: Path, header: bytes, tensors: bytes) -> None:
    """A V2 binary body file, its JSON header's length in the .length file beside it."""
    body.write_bytes(header + tensors)
    body.with_suffix(".length").write_text(str(len(header)))


def wrk_headers(body: Path) -> dict[str, str]:
    """The request headers of a body file: JSON, or V2 binary tensors after a JSON header of known length."""
    if body.suffix != ".bin":
        return {"Content-Type": "application/json"}
    return {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": body.with_suffix(".length").read_text(),
    }


def start_server(server: Server, port: int, core: str, models_dir: Path) -> subprocess.Popen[bytes]:
    """Start a server pinned to `core`; return once it accepts connections (after loading its models)."""
    env = {
        **os.environ,
        "MODELS_DIR": str(models_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "ORT_THREADS": "1",
        "LOG_LEVEL": "warning",
        **dict(server.env),
    }
    if server.kind == "service":
        command = [sys.executable, "-m", "app"]
    else:
        command = [sys.executable, "-m", "bench.yardsticks", server.kind, str(models_dir), str(port)]
    process = subprocess.Popen(["taskset", "-c", core, *command], cwd=server.repo, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{server.name} server did not start")


def parse_duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * UNITS[unit]


def v2_bodies(folder: Path, sizes: list[int]) -> dict[tuple[str, int], Path]:
    """The same MNIST images as REST V2 JSON bodies, V2 binary bodies (binary outputs too) and .npy files for
    bench.grpc_load, by (protocol, images): multiclass only."""
    from training.data import load_mnist

    digits = load_mnist().x_test
    files = {}
    for size in sizes:
        pixels = digits[:size]
        tensor = {"name": "pixels", "shape": list(pixels.shape), "datatype": "UINT8"}
        files["REST V2 JSON", size] = folder / f"v2-{size}.json"
        files["REST V2 JSON", size].write_text(json.dumps({"inputs": [{**tensor, "data": pixels.ravel().tolist()}]}))
        header = json.dumps(
            {
                "inputs": [{**tensor, "parameters": {"binary_data_size": pixels.nbytes}}],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
        files["REST V2 binary", size] = folder / f"v2-{size}.bin"
        write_v2_binary(files["REST V2 binary", size], header, pixels.tobytes())
        files["gRPC", size] = folder / f"grpc-{size}.npy"
        np.save(files["gRPC", size], pixels)
    return files


def run_grpc_load(
    target: str, pixels: Path, concurrency: int, seconds: int, core: str
) -> tuple[float, float, float, int]:
    """requests/s, p50 ms, p99 ms and error count of one bench.grpc_load run."""
    command = ["taskset", "-c", core, sys.executable, "-m", "bench.grpc_load", target, MODEL_NAMES["multiclass"]]
    output = subprocess.run(
        [*command, str(pixels), str(concurrency), str(seconds)], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(output)
    return result["requests_per_s"], result["p50_ms"], result["p99_ms"], result["errors"]


def measure_protocols(
    files: dict[tuple[str, int], Path], sizes: list[int], args: argparse.Namespace
) -> list[LoadResult]:
    """One service (one worker, pinned like the others) over REST V2 JSON, REST V2 binary and gRPC, taking turns
    on each (images, concurrent calls) scenario for several rounds; medians."""
    port, grpc_port = free_port(), free_port()
    server = Server("service", "service", (("GRPC_PORT", str(grpc_port)),))
    process = start_server(server, port, args.server_core, args.models)
    url, target = f"http://127.0.0.1:{port}/v2/models/{MODEL_NAMES['multiclass']}/infer", f"127.0.0.1:{grpc_port}"

    def run(protocol: str, size: int, connections: int, seconds: int) -> tuple[float, float, float, int]:
        if protocol == "gRPC":
            return run_grpc_load(target, files[protocol, size], connections, seconds, args.load_core)
        return run_wrk(url, files[protocol, size], connections, seconds, args.load_core)

    results = []
    try:
        for size in sizes:
            for connections in (1, 16):
                for protocol in PROTOCOLS:  # warm-up
                    run(protocol, size, 16, 1)
                rounds = {protocol: [run(protocol, size, connections, args.seconds)] for protocol in PROTOCOLS}
                for _ in range(args.rounds - 1):
                    for protocol in PROTOCOLS:
                        rounds[protocol].append(run(protocol, size, connections, args.seconds))
                for protocol, runs in rounds.items():
                    rps, p50, p99 = (float(np.median([one[i] for one in runs])) for i in range(3))
                    errors = sum(one[3] for one in runs)
                    results.append(
                        LoadResult(protocol, "multiclass", size, connections, rps, rps * size, p50, p99, errors)
                    )
                    print(
                        f"{protocol:14} {size:3} img  c={connections:2}  {rps:9.1f} req/s  p50 {p50:.3f} ms", flush=True
                    )
        return results
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_wrk(url: str, body: Path, connections: int, seconds: int, core: str) -> tuple[float, float, float, int]:
    """requests/s, p50 ms, p99 ms and error count of one wrk run."""
    script = body.with_suffix(".lua")
    headers = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in wrk_headers(body).items())
    script.write_text(LUA.format(headers=headers, body=body))
    command = [
        "taskset",
        "-c",
        core,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        WRK_TIMEOUT,
        "--latency",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = {key: re.search(pattern, output, re.MULTILINE) for key, pattern in WRK_PATTERNS.items()}
    if found["requests"] is None or found["p50"] is None or found["p99"] is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    requests_per_s = float(found["requests"].group(1))
    p50, p99 = parse_duration_ms(found["p50"].group(1)), parse_duration_ms(found["p99"].group(1))
    errors = int(found["non_2xx"].group(1)) if found["non_2xx"] else 0
    if found["socket_errors"]:
        errors += sum(map(int, found["socket_errors"].groups()))
    return requests_per_s, p50, p99, errors


def rss_mb(pid: int) -> float:
    """Resident set size of a process (taskset execs the server in place)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def onnxruntime_in_process(models_dir: Path, batch_sizes: list[int], runs: int) -> dict[str, dict[int, float]]:
    """Median microseconds per onnxruntime call, one thread, on the same kind of inputs."""
    rng = np.random.default_rng(0)
    result: dict[str, dict[int, float]] = {}
    for task, shape in SHAPES.items():
        session = open_session(models_dir / MODEL_NAMES[task] / "model.onnx", threads=1)
        result[task] = {}
        for size in batch_sizes:
            pixels = rng.integers(0, 256, size=(size, *shape)).astype(np.float32)
            count = max(50, runs // size)
            result[task][size] = float(np.median(latencies_us(session, pixels, count, count // 10)))
    return result


def measure(
    servers: list[Server],
    plan: list[tuple[str, int, int]],
    bodies: dict[tuple[str, int], Path],
    args: argparse.Namespace,
) -> tuple[list[LoadResult], dict[str, float]]:
    """wrk results for every (task, images, connections) of the plan on every server, and each server's RSS.

    All servers are started first (idle ones use no CPU) and take turns on each scenario, several
    rounds, so that a slow spell of this shared machine hits them alike; each figure is the median
    of its rounds.
    """
    ports = {server.name: free_port() for server in servers}
    processes = {
        server.name: start_server(server, ports[server.name], args.server_core, args.models) for server in servers
    }
    results = []
    try:
        for task, size, connections in plan:
            for server in servers:  # warm-up
                run_wrk(
                    f"http://127.0.0.1:{ports[server.name]}{PATHS[task]}", bodies[task, size], 16, 1, args.load_core
                )
            rounds: dict[str, list[tuple[float, float, float, int]]] = {server.name: [] for server in servers}
            for _ in range(args.rounds):
                for server in servers:
                    url = f"http://127.0.0.1:{ports[server.name]}{PATHS[task]}"
                    rounds[server.name].append(
                        run_wrk(url, bodies[task, size], connections, args.seconds, args.load_core)
                    )
            for server in servers:
                rps, p50, p99 = (float(np.median([run[i] for run in rounds[server.name]])) for i in range(3))
                errors = sum(run[3] for run in rounds[server.name])
                results.append(LoadResult(server.name, task, size, connections, rps, rps * size, p50, p99, errors))
                print(
                    f"{server.name:12} {task:10} {size:3} img  c={connections:2}  {rps:9.1f} req/s  "
                    f"{rps * size:9.1f} img/s  p50 {p50:.3f} ms  p99 {p99:.3f} ms  errors {errors}",
                    flush=True,
                )
        return results, {name: rss_mb(process.pid) for name, process in processes.items()}
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and scenario; the median is kept")
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--part", default="all", help="all, or parts to run: yardsticks,v2,batching,workers,grpc")
    parser.add_argument("--images", default="1,64", help="images per request in the yardsticks, workers and grpc parts")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout whose service also runs in the yardsticks part (before/after)"
    )
    args = parser.parse_args()
    parts = {"yardsticks", "v2", "batching", "workers", "grpc"} if args.part == "all" else set(args.part.split(","))
    sizes = [int(size) for size in args.images.split(",")]
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    yardstick_plan = [(task, size, c) for task in SHAPES for size in sizes for c in (1, 16)]
    batching_plan = [(task, 1, c) for task in SHAPES for c in (1, 16, 64)]
    workers_plan = [(task, size, 16) for task in SHAPES for size in sizes]
    v2_plan = [("v2-json", 1, 1), ("v2-json", 1, 16), ("v2-json", 64, 16), ("v2-binary", 64, 16)]
    yardstick_servers, v2_servers = YARDSTICK_SERVERS, [YARDSTICK_SERVERS[0]]
    if args.baseline is not None:
        baseline = Server("baseline", "service", repo=args.baseline.resolve())
        yardstick_servers, v2_servers = [*yardstick_servers, baseline], [*v2_servers, baseline]
    output: dict[str, object] = {}
    yardstick_results: list[LoadResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        bodies = real_bodies(Path(scratch), sorted({1, 64, *sizes}))
        if "yardsticks" in parts:
            ort_us = onnxruntime_in_process(args.models, sizes, runs=20000)
            results, rss = measure(yardstick_servers, yardstick_plan, bodies, args)
            report_yardsticks(results, ort_us, rss)
            yardstick_results = results
            output |= {"yardsticks": [asdict(r) for r in results], "onnxruntime_us": ort_us, "rss_mb": rss}
        if "v2" in parts:
            v2_results = measure(v2_servers, v2_plan, bodies, args)[0]
            report_v2(v2_results, yardstick_results)
            output["v2"] = [asdict(r) for r in v2_results]
        if "batching" in parts:
            results = measure(BATCHING_SERVERS, batching_plan, bodies, args)[0]
            report_batching(results)
            output["batching"] = [asdict(r) for r in results]
        if "grpc" in parts:
            results = measure_protocols(v2_bodies(Path(scratch), sizes), sizes, args)
            report_protocols(results)
            output["grpc"] = [asdict(r) for r in results]
        if "workers" in parts:
            shared = argparse.Namespace(**{**vars(args), "server_core": ALL_CORES, "load_core": ALL_CORES})
            results = measure(WORKERS_SERVERS, workers_plan, bodies, shared)[0]
            report_workers(results)
            output["workers"] = [asdict(r) for r in results]
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(output, indent=2))
    return 0


def print_table(results: list[LoadResult]) -> None:
    print("\n| server | endpoint | images/request | connections | requests/s | images/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.server} | {r.task} | {r.images} | {r.connections} | {r.requests_per_s:,.0f} | "
            f"{r.images_per_s:,.0f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} |"
        )


def report_yardsticks(results: list[LoadResult], ort_us: dict[str, dict[int, float]], rss: dict[str, float]) -> None:
    """The table, then the issue's target ratios (for the baseline too, and service / baseline, when it ran)."""
    print_table(results)
    print(
        "\nonnxruntime in-process, one thread, median per call: "
        + ", ".join(f"{task} batch {size}: {us:.1f} us" for task, sizes in ort_us.items() for size, us in sizes.items())
    )
    services = [name for name in ("service", "baseline") if name in rss]
    for name in services:
        print(f"{name} RSS with both models loaded, after the load: {rss[name]:.0f} MB (target <= 150)")
    pick = {(r.server, r.task, r.images, r.connections): r for r in results}
    for task in SHAPES:
        print(f"\n{task}:")
        for name in services:
            if (name, task, 1, 16) in pick:
                service, floor, fast_floor, plain = (
                    pick[s, task, 1, 16] for s in (name, "floor", "floor-orjson", "plain")
                )
                print(
                    f"  {name}, single image, 16 connections: {service.requests_per_s / floor.requests_per_s:.0%} "
                    f"of the floor (target >= 50%; {service.requests_per_s / fast_floor.requests_per_s:.0%} of the "
                    f"orjson floor), {service.requests_per_s / plain.requests_per_s:.2f}x plain FastAPI "
                    "(target >= 1.5x)"
                )
            if (name, task, 64, 16) in pick:
                batch_service, batch_floor, batch_fast_floor = (
                    pick[s, task, 64, 16] for s in (name, "floor", "floor-orjson")
                )
                print(
                    f"  {name}, 64-image bodies, 16 connections: "
                    f"{batch_service.images_per_s / batch_floor.images_per_s:.0%} of the floor's images/s (target >= "
                    f"50%; {batch_service.images_per_s / batch_fast_floor.images_per_s:.0%} of the orjson floor's)"
                )
            if (name, task, 1, 1) in pick:
                print(
                    f"  {name}, single image p50 at 1 connection: {pick[name, task, 1, 1].p50_ms:.3f} ms "
                    "(target <= 0.5 ms)"
                )
        if "baseline" in services:
            for (server, same_task, images, connections), after in pick.items():
                if server == "service" and same_task == task:
                    before = pick["baseline", task, images, connections]
                    print(
                        f"  service / baseline, {images} img c={connections}: "
                        f"{after.requests_per_s / before.requests_per_s:.3f}x requests/s, "
                        f"p50 {before.p50_ms:.3f} -> {after.p50_ms:.3f} ms"
                    )


def report_v2(results: list[LoadResult], yardsticks: list[LoadResult]) -> None:
    """The V2 table; binary tensors against the JSON floor's images/s (when the yardsticks part ran too), and the
    service against the baseline."""
    print_table(results)
    pick = {(r.server, r.task, r.images, r.connections): r for r in results}
    floor = next(
        (r for r in yardsticks if (r.server, r.task, r.images, r.connections) == ("floor", "multiclass", 64, 16)), None
    )
    binary = pick.get(("service", "v2-binary", 64, 16))
    if floor is not None and binary is not None:
        print(
            f"V2 binary, 64 images, 16 connections: {binary.images_per_s / floor.images_per_s:.2f}x the JSON "
            "floor's images/s (target >= 2x)"
        )
    for (server, task, images, connections), after in pick.items():
        before = pick.get(("baseline", task, images, connections))
        if server == "service" and before is not None:
            print(
                f"service / baseline, {task} {images} img c={connections}: "
                f"{after.requests_per_s / before.requests_per_s:.3f}x requests/s, "
                f"p50 {before.p50_ms:.3f} -> {after.p50_ms:.3f} ms"
            )


def report_batching(results: list[LoadResult]) -> None:
    """The table, then batching's gain at each concurrency."""
    print_table(results)
    pick = {(r.server, r.task, r.connections): r for r in results}
    for task in SHAPES:
        for connections in (1, 16, 64):
            on, off = pick["batching on", task, connections], pick["batching off", task, connections]
            print(
                f"{task} c={connections}: batching {on.requests_per_s / off.requests_per_s:.2f}x requests/s, "
                f"p50 {on.p50_ms - off.p50_ms:+.3f} ms, p99 {on.p99_ms - off.p99_ms:+.3f} ms"
            )


def report_workers(results: list[LoadResult]) -> None:
    """The table, then what the second worker adds."""
    print_table(results)
    pick = {(r.server, r.task, r.images): r for r in results}
    for task, images in {(r.task, r.images) for r in results}:
        one, two = pick["1 worker", task, images], pick["2 workers", task, images]
        print(
            f"{task} {images} img/request: 2 workers {two.requests_per_s / one.requests_per_s:.2f}x requests/s "
            f"of 1 worker, p99 {one.p99_ms:.3f} -> {two.p99_ms:.3f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())


def report_protocols(results: list[LoadResult]) -> None:
    """The table, then gRPC against REST V2 JSON: the issue's targets."""
    print_table(results)
    pick = {(r.server, r.images, r.connections): r for r in results}
    for images, connections in sorted({(r.images, r.connections) for r in results}):
        grpc, json_ = pick["gRPC", images, connections], pick["REST V2 JSON", images, connections]
        binary = pick["REST V2 binary", images, connections]
        print(
            f"{images} img c={connections}: gRPC {grpc.images_per_s / json_.images_per_s:.2f}x REST V2 JSON's "
            f"images/s, {grpc.images_per_s / binary.images_per_s:.2f}x REST V2 binary's"
        )
    print("targets: gRPC 1 img c=16 >= 1.00x REST V2 JSON's requests/s; gRPC 64 img >= 1.5x REST V2 JSON's images/s")


if __name__ == "__main__":
    sys.exit(main())
