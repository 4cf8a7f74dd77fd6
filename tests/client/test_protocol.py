"""The client's decisions that need no service: batching, Retry-After, the backoff's bounds."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import numpy as np
import pytest
from digits.protocol import Batch, Entry, RetryPolicy, plan, retry_after_s
from digits.results import Failure


def test_plan_groups_by_kind_size_and_bytes(tmp_path: Path) -> None:
    files = []
    for n in range(5):
        files.append(tmp_path / f"{n}.png")
        files[-1].write_bytes(b"x" * 100)
    images = [*files[:3], np.zeros((28, 28)), np.zeros((28, 28)), tmp_path / "missing.png", *files[3:]]
    planned = list(plan(images, batch_size=2, max_bytes=1000))
    shapes = [len(p) if isinstance(p, Batch) else "failure" for p in planned]
    assert shapes == [2, 1, "failure", 2, 2]  # an unreadable file is reported at once
    failure = planned[2]
    assert isinstance(failure, tuple) and failure[0] == 5 and isinstance(failure[1], Failure)
    assert [len(p) for p in plan(files, batch_size=10, max_bytes=250) if isinstance(p, Batch)] == [2, 2, 1]


def test_retry_after() -> None:
    assert retry_after_s("1") == 1.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    later = retry_after_s(format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True))
    assert later is not None and 25 < later <= 30


@pytest.mark.parametrize("attempt", [0, 3, 20])
def test_backoff_honours_retry_after_and_is_capped(attempt: int) -> None:
    policy = RetryPolicy(max_delay_s=5.0, base_delay_s=0.25)
    waits = [policy.delay(attempt, 1.0) for _ in range(200)]
    assert all(1.0 <= wait <= 5.0 for wait in waits)
    assert max(policy.delay(attempt, 3600.0) for _ in range(20)) == 5.0
    assert all(0 <= policy.delay(attempt, None) <= min(5.0, 0.25 * 2**attempt) for _ in range(200))


def test_a_refused_batch_is_halved() -> None:
    batch = Batch(tuple(Entry(n, f"{n}.png", upload=b"x") for n in range(5)))
    halves = batch.split()
    assert [[e.index for e in half] for half in halves] == [[0, 1], [2, 3, 4]]
