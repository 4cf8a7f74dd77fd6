"""Adaptive batching: concurrent requests share onnxruntime calls, and nobody's answer changes."""

import asyncio
import selectors
import threading
from collections.abc import Coroutine
from typing import TypeVar

import numpy as np
import pytest

from app.core.batching import AdaptiveBatcher, BatchingPolicy
from app.core.offload import WorkPool
from app.core.predict import predict
from app.core.registry import ModelRegistry
from app.core.tasks import PredictOptions
from tests.app.conftest import SHIPPED_MODELS

T = TypeVar("T")


class RecordingLogits:
    """Stands in for onnxruntime in the queue tests: sums each image, records the batch sizes run and when."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.ran_at: list[float] = []

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        self.batches.append(len(pixels))
        self.ran_at.append(asyncio.get_running_loop().time())
        return pixels.reshape(len(pixels), -1).sum(axis=1, keepdims=True)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to its next timer instead of waiting: delays are checked exactly, in no time.

    Only for work that stays on the loop: a thread's wake-up would come after the clock had jumped past it.
    """

    def __init__(self) -> None:
        self.virtual_now = 0.0
        super().__init__(JumpingSelector(self))

    def time(self) -> float:
        return self.virtual_now


class JumpingSelector(selectors.DefaultSelector):
    """Where the loop would sleep until its next timer, it moves the loop's virtual clock there instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list:
        if timeout is not None and timeout > 0:
            self.loop.virtual_now += timeout
            timeout = 0
        return super().select(timeout)


def run_in_virtual_time(scenario: Coroutine[object, object, T]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(scenario)


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
    run_in_virtual_time(_gather(AdaptiveBatcher(run, BatchingPolicy(4, 10.0)), [2, 2, 5, 1]))
    assert run.batches == [4, 5, 1]
    assert run.ran_at == [0.0, 0.0, pytest.approx(10.0)]  # only the last, alone, waited for company


@pytest.mark.parametrize("delay", [0.0, 0.02])
def test_a_lone_request_runs_after_the_delay_and_no_later(delay: float) -> None:
    run = RecordingLogits()
    batcher = AdaptiveBatcher(run, BatchingPolicy(64, delay))

    async def lone() -> tuple[float, float]:
        await asyncio.sleep(1.0)  # the queue's clock need not start at 0
        sent = asyncio.get_running_loop().time()
        await asyncio.wait_for(batcher.logits(np.ones((1, 2, 2))), timeout=10)
        return sent, asyncio.get_running_loop().time()

    sent, answered = run_in_virtual_time(lone())
    assert run.ran_at == [pytest.approx(sent + delay)] and answered == pytest.approx(sent + delay)


def test_the_queue_waits_the_delay_from_its_first_request_then_starts_afresh() -> None:
    run = RecordingLogits()
    batcher = AdaptiveBatcher(run, BatchingPolicy(64, 0.02))

    async def staggered() -> None:
        first = asyncio.ensure_future(batcher.logits(np.zeros((1, 2, 2))))
        await asyncio.sleep(0.005)
        second = asyncio.ensure_future(batcher.logits(np.zeros((1, 2, 2))))
        await asyncio.sleep(0.025)
        third = asyncio.ensure_future(batcher.logits(np.zeros((1, 2, 2))))
        await asyncio.wait_for(asyncio.gather(first, second, third), timeout=10)

    run_in_virtual_time(staggered())
    assert run.batches == [2, 1]
    assert run.ran_at == [pytest.approx(0.02), pytest.approx(0.05)]


def _check_the_others_got_their_own_rows(answers: list[object], rows: int, per_image: float) -> None:
    """Requests 0 and 2 (images of 0s and of 2s) got their own sums; request 1 was cancelled."""
    first, cancelled, last = answers
    assert isinstance(cancelled, asyncio.CancelledError)
    np.testing.assert_array_equal(first, np.zeros((rows, 1)))
    np.testing.assert_array_equal(last, np.full((rows, 1), 2 * per_image))


def test_a_request_cancelled_while_it_waits_leaves_the_others_their_answers() -> None:
    run = RecordingLogits()
    batcher = AdaptiveBatcher(run, BatchingPolicy(64, 0.02))

    async def scenario() -> tuple[list[object], np.ndarray]:
        requests = [
            asyncio.ensure_future(batcher.logits(np.full((size, 2, 2), float(index))))
            for index, size in enumerate([1, 2, 1])
        ]
        await asyncio.sleep(0.01)
        requests[1].cancel()  # its client went away while the queue waited for company
        answers = await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), timeout=10)
        return answers, await asyncio.wait_for(batcher.logits(np.full((1, 2, 2), 3.0)), timeout=10)

    answers, later = run_in_virtual_time(scenario())
    _check_the_others_got_their_own_rows(answers, rows=1, per_image=4.0)
    assert run.batches[0] == 2  # the two left share one call; the cancelled request's rows are not run
    np.testing.assert_array_equal(later, np.full((1, 1), 12.0))


def test_a_request_cancelled_while_its_batch_runs_in_the_pool_leaves_the_others_their_answers() -> None:
    started, release = threading.Event(), threading.Event()

    def gated(pixels: np.ndarray) -> np.ndarray:
        started.set()
        assert release.wait(10)
        return pixels.reshape(len(pixels), -1).sum(axis=1, keepdims=True)

    batcher = AdaptiveBatcher(gated, BatchingPolicy(64, 0.0), WorkPool(1))

    async def scenario() -> list[object]:
        # three requests of 20 digits: a batch heavy enough for the pool
        requests = [asyncio.ensure_future(batcher.logits(np.full((20, 28, 28), float(i)))) for i in range(3)]
        assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        requests[1].cancel()
        release.set()
        return await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), timeout=10)

    _check_the_others_got_their_own_rows(asyncio.run(scenario()), rows=20, per_image=784.0)


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
