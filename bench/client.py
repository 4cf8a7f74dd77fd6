"""Files per second the digits client gets through a folder of 1,000 scans, by files per request and
requests in flight, against a real service on one core (the client on the other).

Run: `python -m bench.client` (ROUNDS rounds each, the median quoted; README, "Classify a folder of scans").
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
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


async def files_per_s(url: str, paths: list[Path], batch_size: int, concurrency: int) -> float:
    """One pass over every file, the way `digits multiclass` sends them."""
    async with AsyncDigitsClient(url, batch_size=batch_size, concurrency=concurrency) as client:
        start = time.perf_counter()
        results = await client.multiclass(paths)
        elapsed = time.perf_counter() - start
    failed = [r for r in results if isinstance(r, Failure)]
    if failed:
        raise RuntimeError(f"{len(failed)} files failed, the first: {failed[0].error}")
    return len(paths) / elapsed


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
            asyncio.run(files_per_s(url, paths[:100], 16, 1))  # warm-up
            print(f"| files per request | in flight | files/s, median of {rounds} | min | max |")
            print("|---:|---:|---:|---:|---:|")
            for concurrency in CONCURRENCY:
                for batch_size in BATCH_SIZES:
                    rates = [asyncio.run(files_per_s(url, paths, batch_size, concurrency)) for _ in range(rounds)]
                    median = statistics.median(rates)
                    print(f"| {batch_size} | {concurrency} | {median:.0f} | {min(rates):.0f} | {max(rates):.0f} |")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
