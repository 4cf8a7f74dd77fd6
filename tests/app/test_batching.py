"""Adaptive batching: concurrent requests share onnxruntime calls, and nobody's answer changes."""

import asyncio

import numpy as np
import pytest

from app.batching import AdaptiveBatcher, BatchingPolicy
from app.offload import WorkPool
from app.predict import predict
from app.tasks import PredictOptions
from app.registry import ModelRegistry
from tests.app.conftest import SHIPPED_MODELS


class RecordingLogits:
    """Stands in for onnxruntime in the queue tests: sums each image, records the batch sizes run."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        self.batches.append(len(pixels))
        return pixels.reshape(len(pixels), -1).sum(axis=1, keepdims=True)


async def _gather(batcher: AdaptiveBatcher, sizes: list[int]) -> list[np.ndarray]:
    requests = [np.full((size, 2, 2), float(index)) for index, size in enumerate(sizes)]
    return await asyncio.gather(*(batcher.logits(pixels) for pixels in requests))


def test_concurrent_requests_share_a_call_and_get_their_own_rows() -> None:
    run = RecordingLogits()
    results = asyncio.run(_gather(AdaptiveBatcher(run, BatchingPolicy(64, 0.0)), [1, 3, 2, 1]))
    assert run.batches == [7]
    for index, (result, size) in enumerate(zip(results, [1, 3, 2, 1], strict=True)):
        np.testing.assert_array_equal(result, np.full((size, 1), 4.0 * index))


def test_a_full_queue_runs_at_once_and_big_requests_run_alone() -> None:
    run = RecordingLogits()
    asyncio.run(_gather(AdaptiveBatcher(run, BatchingPolicy(4, 10.0)), [2, 2, 5, 1]))
    assert run.batches == [4, 5, 1]


def test_the_queue_waits_at_most_the_delay() -> None:
    run = RecordingLogits()
    batcher = AdaptiveBatcher(run, BatchingPolicy(64, 0.02))

    async def staggered() -> None:
        first = asyncio.ensure_future(batcher.logits(np.zeros((1, 2, 2))))
        await asyncio.sleep(0.005)
        second = asyncio.ensure_future(batcher.logits(np.zeros((1, 2, 2))))
        await asyncio.wait_for(asyncio.gather(first, second), timeout=1.0)

    asyncio.run(staggered())
    assert run.batches == [2]


def test_a_failing_batch_fails_every_caller_and_the_queue_goes_on() -> None:
    calls = {"n": 0}

    def flaky(pixels: np.ndarray) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("onnxruntime failed")
        return pixels.reshape(len(pixels), -1)

    batcher = AdaptiveBatcher(flaky, BatchingPolicy(64, 0.0))

    async def scenario() -> list[object]:
        failed = await asyncio.gather(*(batcher.logits(np.zeros((1, 2, 2))) for _ in range(3)), return_exceptions=True)
        return [*failed, await batcher.logits(np.ones((1, 2, 2)))]

    *failed, recovered = asyncio.run(scenario())
    assert all(isinstance(error, RuntimeError) for error in failed)
    np.testing.assert_array_equal(recovered, np.ones((1, 4)))


@pytest.mark.parametrize("pool", [None, WorkPool(2)], ids=["on the loop", "large batches in the work pool"])
@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_a_digit_alone_and_in_a_concurrent_crowd_gets_identical_probabilities(
    task: str, pool: WorkPool | None, test_digits: tuple, test_canvases: tuple
) -> None:
    batch_sizes: list[int] = []
    registry = ModelRegistry(
        SHIPPED_MODELS,
        threads=1,
        observe=lambda _, rows, __: batch_sizes.append(rows),
        batching=BatchingPolicy(64, 0.0),
        pool=pool,
    )
    registry.load()
    model = registry.for_task(task)
    images = (test_digits[0] if task == "multiclass" else test_canvases[0])[:40].astype(np.float32)
    options = PredictOptions()

    async def alone_then_crowd() -> tuple[list[dict], list[dict]]:
        alone = [await predict(model, image[None], options) for image in images]
        crowd = await asyncio.gather(*(predict(model, image[None], options) for image in images))
        return alone, list(crowd)

    alone, crowd = asyncio.run(alone_then_crowd())
    assert batch_sizes[: len(images)] == [1] * len(images)
    assert max(batch_sizes[len(images) :]) > 1  # the crowd really shared calls
    for single, shared in zip(alone, crowd, strict=True):
        np.testing.assert_array_equal(
            single["predictions"][0]["probabilities"], shared["predictions"][0]["probabilities"]
        )
