"""Adaptive batching: requests that arrive close together share one onnxruntime call.

Like Triton's dynamic batcher: a per-model queue collects rows until MAX_BATCH_SIZE rows are
waiting or MAX_QUEUE_DELAY_MS has passed since the first one, runs them as one batch, and hands
each caller its own rows. It lives on the event loop, so it needs no locks; with a delay of 0 it
batches what arrived in the same loop iteration and adds no waiting at all. A batch too large to
run on the loop runs in the work pool, and the queue goes on filling meanwhile.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.offload import WorkPool, is_heavy

Logits = Callable[[np.ndarray], np.ndarray]
Pending = tuple[np.ndarray, "asyncio.Future[np.ndarray]"]


@dataclass(frozen=True)
class BatchingPolicy:
    """When a queue is run: at max_batch_size rows, or max_delay_s after its first request."""

    max_batch_size: int
    max_delay_s: float


class AdaptiveBatcher:
    """Queues pixel batches for one model and runs them together."""

    def __init__(self, logits: Logits, policy: BatchingPolicy, pool: WorkPool | None = None) -> None:
        self._logits = logits
        self._pool = pool
        self.max_batch_size = policy.max_batch_size
        self.max_delay_s = policy.max_delay_s
        self._pending: list[Pending] = []
        self._rows = 0
        self._timer: asyncio.Handle | None = None
        self._pool_runs: set[asyncio.Task[None]] = set()

    async def logits(self, pixels: np.ndarray) -> np.ndarray:
        """This request's logits, computed in a batch with whatever else is waiting."""
        if len(pixels) >= self.max_batch_size:
            return await run_logits(self._logits, pixels, self._pool)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((pixels, future))
        self._rows += len(pixels)
        if self._rows >= self.max_batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = (
                loop.call_later(self.max_delay_s, self._flush) if self.max_delay_s > 0 else loop.call_soon(self._flush)
            )
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending = [(pixels, future) for pixels, future in self._pending if not future.done()]  # not the cancelled
        self._pending, self._rows = [], 0
        if not pending:
            return
        batch = np.concatenate([pixels for pixels, _ in pending])
        if self._pool is not None and is_heavy(batch):
            # The loop holds tasks only weakly: without this reference a running batch could be collected.
            task = asyncio.get_running_loop().create_task(self._run_in_pool(self._pool, batch, pending))
            self._pool_runs.add(task)
            task.add_done_callback(self._pool_runs.discard)
            return
        try:
            logits = self._logits(batch)
        except Exception as error:
            _fail(pending, error)
            return
        _deliver(pending, logits)

    async def _run_in_pool(self, pool: WorkPool, batch: np.ndarray, pending: list[Pending]) -> None:
        try:
            logits = await pool.run(lambda: self._logits(batch))
        except Exception as error:
            _fail(pending, error)
            return
        _deliver(pending, logits)


async def run_logits(logits: Logits, pixels: np.ndarray, pool: WorkPool | None) -> np.ndarray:
    """logits(pixels): on the loop when the batch is small, in the pool when it is heavy."""
    if pool is not None and is_heavy(pixels):
        return await pool.run(lambda: logits(pixels))
    return logits(pixels)


def _fail(pending: list[Pending], error: Exception) -> None:
    """Every waiting caller gets the failure; none hangs."""
    for _, future in pending:
        if not future.done():
            future.set_exception(error)


def _deliver(pending: list[Pending], logits: np.ndarray) -> None:
    """Each caller its own rows; a caller that went away has a cancelled future."""
    start = 0
    for pixels, future in pending:
        if not future.done():
            future.set_result(logits[start : start + len(pixels)])
        start += len(pixels)
