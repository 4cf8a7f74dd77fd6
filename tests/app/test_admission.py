"""MemoryBudget: reservations fit, wait in FIFO order, or are refused (413 never, 503 not in time)."""

import asyncio

import pytest

from app.core.admission import BodyCost, MemoryBudget
from app.core.errors import Overloaded, TooLargeForMemory

pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


def budget(capacity: int = 100, timeout_s: float = 0.2, max_waiting: int = 4) -> MemoryBudget:
    return MemoryBudget(capacity, timeout_s, max_waiting, retry_after_s=1)


async def test_a_reservation_that_fits_is_held_until_exit() -> None:
    memory = budget()
    async with memory.reservation(60):
        assert memory.reserved == 60
        async with memory.reservation(40):
            assert memory.reserved == 100
    assert memory.reserved == 0
    assert memory.waits == 0


async def test_a_reservation_larger_than_the_budget_is_refused_at_once() -> None:
    memory = budget()
    with pytest.raises(TooLargeForMemory) as refused:
        async with memory.reservation(101):
            pass
    assert refused.value.status_code == 413
    assert "MEMORY_BUDGET_BYTES" in refused.value.detail
    assert memory.reserved == 0 and memory.refusals[413] == 1


async def test_a_reservation_waits_for_room_then_gets_it() -> None:
    memory = budget(timeout_s=5)
    order: list[str] = []
    first = memory.reservation(80)
    await first.__aenter__()

    async def second() -> None:
        async with memory.reservation(50):
            order.append("second")

    task = asyncio.ensure_future(second())
    await asyncio.sleep(0.01)
    assert memory.waiting == 1 and not order
    await first.__aexit__(None, None, None)
    await task
    assert order == ["second"]
    assert memory.reserved == 0 and memory.waits == 1


async def test_waiting_reservations_are_served_first_come_first_served() -> None:
    memory = budget(timeout_s=5)
    holder = memory.reservation(90)
    await holder.__aenter__()
    order: list[int] = []

    async def reserve(nbytes: int) -> None:
        async with memory.reservation(nbytes):
            order.append(nbytes)
            await asyncio.sleep(0.01)

    tasks = [asyncio.ensure_future(reserve(n)) for n in (60, 5)]
    await asyncio.sleep(0.01)
    assert order == []  # 5 would fit beside 90, but 60 came first
    await holder.__aexit__(None, None, None)
    await asyncio.gather(*tasks)
    assert order == [60, 5]


async def test_no_room_in_time_is_503_with_retry_after_and_leaves_the_queue() -> None:
    memory = budget(timeout_s=0.05)
    async with memory.reservation(100):
        with pytest.raises(Overloaded) as refused:
            async with memory.reservation(1):
                pass
        assert memory.waiting == 0
    assert refused.value.status_code == 503 and refused.value.retry_after_s == 1
    assert "ADMISSION_TIMEOUT_S" in refused.value.detail
    assert memory.reserved == 0 and memory.refusals[503] == 1


async def test_a_full_queue_refuses_at_once() -> None:
    memory = budget(timeout_s=5, max_waiting=1)
    async with memory.reservation(100):
        waiter = asyncio.ensure_future(memory.reservation(10).__aenter__())
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded, match="already waiting"):
            await memory.reservation(10).__aenter__()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert memory.waiting == 0
    assert memory.reserved == 0


async def test_a_reservation_grows_as_a_chunked_body_arrives() -> None:
    memory = budget()
    async with memory.reservation(10) as held:
        await held.grow(30)
        assert memory.reserved == 40
        with pytest.raises(TooLargeForMemory):
            await held.grow(61)
        assert memory.reserved == 40
    assert memory.reserved == 0


def test_a_body_costs_its_expansion_or_itself_and_its_images() -> None:
    cost = BodyCost(per_byte=5, image_per_byte=250, image_cap=1000, inflated_bytes=400)
    assert cost.of(1000, compressed=False) == 5000  # large: 5 per byte
    assert cost.of(2, compressed=False) == 2 + 500  # tiny images: 250 per byte
    assert cost.of(100, compressed=False) == 100 + 1000  # ... up to the images' cap
    assert cost.of(10, compressed=True) == 10 + 2000  # compressed: itself + its largest inflated body
