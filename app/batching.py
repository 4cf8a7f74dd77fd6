"""Adaptive batching: requests that arrive close together share one onnxruntime call.

Like Triton's dynamic batcher: a per-model queue collects rows until MAX_BATCH_SIZE rows are
waiting or MAX_QUEUE_DELAY_MS has passed since the first one, runs them as one batch, and hands
each caller its own rows. It lives on the event loop, so it needs no locks; with a delay of 0 it
batches what arrived in the same loop iteration and adds no waiting at all.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Logits = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BatchingPolicy:
    """When a queue is run: at max_batch_size rows, or max_delay_s after its first request."""

    max_batch_size: int
    max_delay_s: float


class AdaptiveBatcher:
    """Queues pixel batches for one model and runs them together."""

    def __init__(self, logits: Logits, policy: BatchingPolicy) -> None:
        self._logits = logits
        self.max_batch_size = policy.max_batch_size
        self.max_delay_s = policy.max_delay_s
        self._pending: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        self._rows = 0
        self._timer: asyncio.Handle | None = None

    async def logits(self, pixels: np.ndarray) -> np.ndarray:
        """This request's logits, computed in a batch with whatever else is waiting."""
        if len(pixels) >= self.max_batch_size:
            return self._logits(pixels)
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
        pending, self._pending, self._rows = self._pending, [], 0
        if not pending:
            return
        try:
            logits = self._logits(np.concatenate([pixels for pixels, _ in pending]))
        except Exception as error:  # every waiting caller gets the failure, none hangs
            for _, future in pending:
                if not future.done():
                    future.set_exception(error)
            return
        start = 0
        for pixels, future in pending:
            if not future.done():  # a caller that went away has a cancelled future
                future.set_result(logits[start : start + len(pixels)])
            start += len(pixels)
