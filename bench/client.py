"""Files per second the digits client gets through a folder of 1,000 scans, by files per request and
requests in flight, against a real service on one core (the client on the other); and the CPU time the
service and the client spend per file, which neighbours on a shared machine barely change.

Run: `python -m bench.client` (each setting once per round, rounds interleaved so a neighbour's burst
hits every setting alike; medians quoted in the README, "Classify a folder of scans").
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from digits import AsyncDigitsClient, Failure
from PIL import Image

from bench.__main__ import REPO, Server, free_port, start_server

FILES = 1000
BATCH_SIZES = (1, 4, 16, 64, 256)
CONCURRENCY = (1, 4)
SERVER_CORE = "0"
CLIENT_CORE = 1


def write_scans(folder: Path, count: int) -> list[Path]:
    """`count` MNIST test digits as 112x112 PNG scans (dark ink on white), as a scanner would give them."""
    from training.data import load_mnist

    digits = load_mnist().x_test[:count]
    paths = [folder / f"scan{n:04d}.png" for n in range(count)]
    for pixels, path in zip(digits, paths, strict=True):
        Image.fromarray(255 - pixels).resize((112, 112)).save(path)
    return paths


@dataclass(frozen=True)
class Pass:
    """One pass over every file: its speed, and CPU milliseconds per file in the service and in the client."""

    files_per_s: float
    service_cpu_ms: float
    client_cpu_ms: float


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_pass(url: str, server_pid: int, paths: list[Path], batch_size: int, concurrency: int) -> Pass:
    """Every file once, the way `digits multiclass` sends them."""
    async with AsyncDigitsClient(url, batch_size=batch_size, concurrency=concurrency) as client:
        service_cpu, client_cpu, start = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
        results = await client.multiclass(paths)
        elapsed = time.perf_counter() - start
        client_cpu, service_cpu = time.process_time() - client_cpu, cpu_seconds(server_pid) - service_cpu
    failed = [r for r in results if isinstance(r, Failure)]
    if failed:
        raise RuntimeError(f"{len(failed)} files failed, the first: {failed[0].error}")
    return Pass(len(paths) / elapsed, 1000 * service_cpu / len(paths), 1000 * client_cpu / len(paths))


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--rounds", type=int, default=5)
    rounds = arguments.parse_args().rounds
    os.sched_setaffinity(0, {CLIENT_CORE})
    port = free_port()
    server = start_server(Server("service", "service"), port, SERVER_CORE, REPO / "models")
    url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            paths = write_scans(Path(folder), FILES)
            asyncio.run(one_pass(url, server.pid, paths[:100], 16, 1))  # warm-up
            settings = [(batch_size, concurrency) for concurrency in CONCURRENCY for batch_size in BATCH_SIZES]
            passes: dict[tuple[int, int], list[Pass]] = {setting: [] for setting in settings}
            for _ in range(rounds):
                for setting in settings:
                    passes[setting].append(asyncio.run(one_pass(url, server.pid, paths, *setting)))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"| files per request | in flight | files/s (median of {rounds}) | min - max ", end="")
    print("| service CPU ms/file | client CPU ms/file |")
    print("|---:|---:|---:|---:|---:|---:|")
    for (batch_size, concurrency), runs in passes.items():
        rates = [run.files_per_s for run in runs]
        service_ms = statistics.median(run.service_cpu_ms for run in runs)
        client_ms = statistics.median(run.client_cpu_ms for run in runs)
        print(
            f"| {batch_size} | {concurrency} | {statistics.median(rates):.0f} | {min(rates):.0f} - {max(rates):.0f} "
            f"| {service_ms:.2f} | {client_ms:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
