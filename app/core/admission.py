"""A memory budget per worker: every request reserves its worst-case cost before its body is read.

A request's cost is the bytes it declares (headers, Content-Length) times what they expand to while the
request is served (see `BodyCost`). A reservation that fits, with nobody waiting, is an integer add; one
that does not waits in a bounded FIFO queue (its body unread, so TCP pushes back on the client) for up to
ADMISSION_TIMEOUT_S, then is refused with `Overloaded` (503, Retry-After). One that could never fit is
refused at once with `TooLargeForMemory` (413). Every transport calls `MemoryBudget.reservation`.
"""

import asyncio
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from app.core.errors import Overloaded, TooLargeForMemory

MIB = 1024 * 1024
RETRY_AFTER_S = 1
"""What a refused client is told to wait before trying again."""
BODY_EXPANSION = 5.0
"""Bytes a request holds per body byte at most: the body, then the float32 pixels it becomes (V2 UINT8 tensors:
4 per byte; measured by `python -m bench.memory --expansion`, see the README's Memory section)."""
IMAGE_EXPANSION = 250.0
"""Bytes a request holds per body byte when the body is tiny encoded images, each a whole model input
(256 base64 PNGs of 8x8 pixels as multilabel canvases: 248 measured)."""
IMAGE_INSTANCE_BYTES = 26 * 1024
"""What one decoded image holds at most: a 56x56 float32 canvas, in a list and then stacked (6.4 MiB per 256)."""


@dataclass(frozen=True)
class BodyCost:
    """How many bytes of memory a request body may occupy while its request is served."""

    per_byte: float
    """Bytes one body byte may become (BODY_EXPANSION)."""
    image_per_byte: float
    """Bytes one body byte of encoded images may become (IMAGE_EXPANSION), up to `image_cap`."""
    image_cap: int
    """Most bytes the decoded images of one request hold: MAX_INSTANCES x IMAGE_INSTANCE_BYTES."""
    inflated_bytes: int
    """Most bytes a gzip/deflate body inflates to (MAX_BODY_BYTES)."""

    def of(self, length: int, compressed: bool) -> int:
        """Bytes a body of `length` bytes may occupy: its length x `per_byte`, or itself and its images when it
        holds tiny ones; a compressed body, itself and what its largest inflated body costs."""
        if compressed:
            return length + self.of(self.inflated_bytes, False)
        return max(int(length * self.per_byte), length + min(int(length * self.image_per_byte), self.image_cap))


def body_cost(max_instances: int, max_body_bytes: int) -> BodyCost:
    """The measured BodyCost under these limits."""
    return BodyCost(BODY_EXPANSION, IMAGE_EXPANSION, max_instances * IMAGE_INSTANCE_BYTES, max_body_bytes)


class MemoryBudget:
    """Bytes this worker may spend on requests in flight, shared by reservations in FIFO order."""

    def __init__(self, capacity: int, timeout_s: float, max_waiting: int, retry_after_s: int) -> None:
        self.capacity = capacity
        self.timeout_s = timeout_s
        self.max_waiting = max_waiting
        self.retry_after_s = retry_after_s
        self.reserved = 0
        self.waits = 0
        """Reservations that had to queue (admitted or not)."""
        self.refusals: dict[int, int] = {413: 0, 503: 0}
        """Reservations refused, by status."""
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        """Reservations waiting in the queue now."""
        return len(self._waiting)

    def reservation(self, nbytes: int) -> "Reservation":
        """An async context manager holding `nbytes` of the budget from entry to exit."""
        return Reservation(self, nbytes)

    def try_acquire(self, nbytes: int) -> bool:
        """Hold `nbytes` if they fit now with nobody waiting (the caller then calls `release`); no await."""
        if self._waiting or self.reserved + nbytes > self.capacity:
            return False
        self.reserved += nbytes
        return True

    async def acquire(self, nbytes: int) -> None:
        """Hold `nbytes`, waiting behind earlier reservations; TooLargeForMemory or Overloaded when refused."""
        self._check_possible(nbytes)
        await self._acquire(nbytes)

    def release(self, nbytes: int) -> None:
        """Give back `nbytes` held by try_acquire or acquire."""
        self.reserved -= nbytes
        self._wake()

    def _check_possible(self, total: int) -> None:
        if total > self.capacity:
            self.refusals[413] += 1
            raise TooLargeForMemory(
                f"this request may need {total / MIB:.1f} MiB of memory, more than this worker's "
                f"{self.capacity / MIB:.1f} MiB (MEMORY_BUDGET_BYTES): send fewer or smaller images"
            )

    async def _acquire(self, nbytes: int) -> None:
        """Add `nbytes` to what is reserved, waiting for room behind earlier reservations."""
        if not self._waiting and self.reserved + nbytes <= self.capacity:
            self.reserved += nbytes
            return
        if len(self._waiting) >= self.max_waiting:
            self._refuse(f"{len(self._waiting)} requests are already waiting for memory")
        self.waits += 1
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (nbytes, granted)
        self._waiting.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(granted), self.timeout_s)
        except TimeoutError:
            self._abandon(entry)
            self._refuse(f"no memory came free within {self.timeout_s:g} s (ADMISSION_TIMEOUT_S)")
        except BaseException:
            self._abandon(entry)
            raise

    def _abandon(self, entry: tuple[int, "asyncio.Future[None]"]) -> None:
        """Leave the queue; a grant that came in the meantime is given back."""
        nbytes, granted = entry
        if granted.done():
            self.release(nbytes)
        else:
            granted.cancel()
            self._waiting.remove(entry)
            self._wake()

    def _refuse(self, why: str) -> None:
        self.refusals[503] += 1
        raise Overloaded(f"the server is at its memory budget: {why}; retry later", self.retry_after_s)

    def _wake(self) -> None:
        """Grant the queue's head reservations while they fit."""
        waiting = self._waiting
        while waiting and self.reserved + waiting[0][0] <= self.capacity:
            nbytes, granted = waiting.popleft()
            self.reserved += nbytes
            granted.set_result(None)


class Reservation:
    """Bytes held in a MemoryBudget; `grow` adds to them (a chunked body, as its bytes arrive)."""

    __slots__ = ("budget", "nbytes")

    def __init__(self, budget: MemoryBudget, nbytes: int) -> None:
        self.budget = budget
        self.nbytes = nbytes

    async def __aenter__(self) -> "Reservation":
        await self.budget.acquire(self.nbytes)
        return self

    async def grow(self, nbytes: int) -> None:
        """Hold `nbytes` more: at once when they fit, else after waiting like a new reservation."""
        budget = self.budget
        budget._check_possible(self.nbytes + nbytes)
        await budget._acquire(nbytes)
        self.nbytes += nbytes

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.budget.release(self.nbytes)
        self.nbytes = 0
