"""Cost of `"explain": true` per image on one core: the occlusion map alone and a whole explained predict.

Usage: python -m bench.explain [--runs 200] [--core N]
Real MNIST test digits, the shipped multiclass model, onnxruntime on one thread, this process
pinned to one core. Target: explanation <= 2 ms per image.
"""

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import numpy as np

from app.core.explain import occlusion_masks
from app.core.predict import explanations, predict
from app.core.registry import Model, load_model
from app.core.tasks import PredictOptions
from training.data import load_mnist

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 2.0
COUNTS = (1, 16)


async def per_image_ms(calls: dict[str, Callable[[], Awaitable[object]]], runs: int) -> dict[str, float]:
    """Median wall time of each call, the calls taking turns in every round so load on the machine hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(runs + max(1, runs // 10)):
        for name, call in calls.items():
            start = time.perf_counter()
            await call()
            if round_ >= runs // 10:  # the first tenth warms up
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) * 1000 for name, values in times.items()}


async def measure(model: Model, digits: np.ndarray, runs: int) -> None:
    """Print one Markdown row per batch size."""
    calls: dict[str, Callable[[], Awaitable[object]]] = {}
    for count in COUNTS:
        pixels = digits[:count]
        scores = model.spec.task.probabilities(model.logits(pixels))
        calls[f"explanation {count}"] = partial(explanations, model, pixels, scores)
        calls[f"predict {count}"] = partial(predict, model, pixels, PredictOptions())
        calls[f"explained {count}"] = partial(predict, model, pixels, PredictOptions(explain=True))
    medians = await per_image_ms(calls, runs)
    print("| images/request | explanation ms/image | predict ms/image | explained predict ms/image | target |")
    print("|---:|---:|---:|---:|---|")
    for count in COUNTS:
        explain_ms, plain_ms, full_ms = (
            medians[f"{name} {count}"] / count for name in ("explanation", "predict", "explained")
        )
        verdict = "met" if explain_ms <= TARGET_MS else "missed"
        print(f"| {count} | {explain_ms:.3f} | {plain_ms:.3f} | {full_ms:.3f} | <= {TARGET_MS} ms: {verdict} |")


def main() -> None:
    """Pin to one core, load the shipped model on one thread, time explanations of real digits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--core", type=int, default=max(os.sched_getaffinity(0)))
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    model = load_model(REPO / "models" / "mnist-multiclass", threads=1)
    digits = load_mnist().x_test[:16].astype(np.float32)
    patches = len(occlusion_masks(model.spec.image_shape))
    print(f"core {args.core}, onnxruntime 1 thread, {patches} occlusions per image")
    asyncio.run(measure(model, digits, args.runs))


if __name__ == "__main__":
    main()
