"""A bounded thread pool for CPU-heavy work, so that it never runs on the event loop.

Pillow's decoders, numpy and onnxruntime release the GIL, so a request decoding a large image or
running a large batch keeps the loop free to answer everyone else. Small work (one digit) stays on
the loop, where a thread hand-off would cost more than the work itself.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")
# Inference of more pixels than this (32 digits, 8 canvases: about half a millisecond) leaves the loop.
INLINE_PIXELS = 32 * 28 * 28
# Bodies larger than this (a few canvases as JSON) are parsed off the loop: about a millisecond of work.
INLINE_BODY_BYTES = 64 * 1024


def is_heavy(pixels: np.ndarray) -> bool:
    """True when running the model on this batch is worth a thread hand-off."""
    return pixels.size > INLINE_PIXELS


def is_heavy_body(body: bytes) -> bool:
    """True when parsing this request body is worth a thread hand-off."""
    return len(body) > INLINE_BODY_BYTES


class WorkPool:
    """A fixed number of threads; work beyond them waits its turn in the pool's queue."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="work")

    async def run(self, work: Callable[[], T]) -> T:
        """The result of work(), computed on one of the pool's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)
