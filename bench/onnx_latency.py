"""Single-image onnxruntime latency of every models/*/model.onnx on one thread: median and p99 in microseconds.

Usage: python bench/onnx_latency.py [--models models] [--runs 5000] [--warmup 500]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.core.runtime import open_session


def latencies_us(session: ort.InferenceSession, pixels: np.ndarray, runs: int, warmup: int) -> np.ndarray:
    """Wall time of `runs` calls on one image, after `warmup` untimed calls."""
    feed = {session.get_inputs()[0].name: pixels}
    for _ in range(warmup):
        session.run(None, feed)
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter_ns()
        session.run(None, feed)
        times[i] = time.perf_counter_ns() - start
    return times / 1000.0


def main() -> None:
    """Print one line per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path(__file__).resolve().parent.parent / "models")
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"onnxruntime {ort.__version__}, batch 1, intra_op_num_threads=1, {args.runs} runs")
    for model_json in sorted(args.models.glob("*/model.json")):
        card = json.loads(model_json.read_text())
        onnx_path = model_json.parent / "model.onnx"
        _, height, width = card["input"]["shape"]
        pixels = rng.integers(0, 256, size=(1, height, width)).astype(np.float32)
        times = latencies_us(open_session(onnx_path, threads=1), pixels, args.runs, args.warmup)
        print(
            f"{card['name']:<18} {onnx_path.stat().st_size / 1e6:.2f} MB  "
            f"median {np.median(times):7.1f} us  p99 {np.percentile(times, 99):7.1f} us"
        )


if __name__ == "__main__":
    main()
