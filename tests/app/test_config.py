import os
from pathlib import Path

import pytest

from app.operations.config import (
    DEFAULT_MEMORY_BUDGET_BYTES,
    WORKER_BASELINE_BYTES,
    Settings,
    available_cpus,
    cgroup_cpu_limit,
    cgroup_memory_limit,
    deprecation_warnings,
)


@pytest.fixture()
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process may run on 8 cores, more than any quota below allows, whatever this machine has."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))


@pytest.mark.parametrize(("cpu_max", "cores", "cpus"), [("150000 100000", 1.5, 2), ("50000 100000", 0.5, 1)])
def test_cgroup_v2_quota_is_read_in_cores(
    tmp_path: Path, eight_cores: None, cpu_max: str, cores: float, cpus: int
) -> None:
    (tmp_path / "cpu.max").write_text(f"{cpu_max}\n")
    assert cgroup_cpu_limit(tmp_path) == cores
    assert available_cpus(tmp_path) == cpus  # a partly used core counts: the quota rounded up


def test_no_cgroup_quota_leaves_the_cpu_affinity(tmp_path: Path, eight_cores: None) -> None:
    assert available_cpus(tmp_path) == 8


def test_cgroup_v2_unlimited(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cgroup_v1_quota(tmp_path: Path, eight_cores: None) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 3.0
    assert available_cpus(tmp_path) == 3


def test_cgroup_v1_no_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INSTANCES", "8")
    monkeypatch.setenv("ORT_THREADS", "3")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    settings = Settings()
    assert (settings.max_instances, settings.intra_op_threads, settings.log_level) == (8, 3, "warning")


def test_max_batch_still_sets_max_instances_with_a_deprecation_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_INSTANCES", raising=False)
    monkeypatch.setenv("MAX_BATCH", "8")
    assert Settings().max_instances == 8
    assert deprecation_warnings({"max_batch": "8"}) == ["MAX_BATCH is deprecated: use MAX_INSTANCES"]
    assert deprecation_warnings({"MAX_INSTANCES": "8"}) == []


def test_thread_default_follows_the_cpu_quota_shared_by_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORT_THREADS", raising=False)
    assert Settings(workers=1).intra_op_threads == available_cpus()
    assert Settings(workers=64).intra_op_threads == 1


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"memory.max": "402653184\n"}, 384 * MIB),
        ({"memory.max": "max\n"}, None),
        ({"memory/memory.limit_in_bytes": "402653184\n"}, 384 * MIB),
        ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),  # cgroup v1's "no limit"
        ({}, None),
    ],
)
def test_cgroup_memory_limit(tmp_path: Path, files: dict[str, str], limit: int | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_memory_limit(tmp_path) == limit


def test_memory_budget_is_the_workers_share_of_the_limit_less_what_no_reservation_counts() -> None:
    one, two = Settings(workers=1), Settings(workers=2)
    pool = one.pool_working_bytes(1)
    assert pool == 13 * one.max_body_bytes
    assert one.memory_budget_for(1024 * MIB, 1) == int(1024 * MIB * 0.9) - WORKER_BASELINE_BYTES - pool
    assert two.memory_budget_for(1024 * MIB, 1) == int(512 * MIB * 0.9) - WORKER_BASELINE_BYTES - pool
    assert one.memory_budget_for(None, 1) == DEFAULT_MEMORY_BUDGET_BYTES
    assert Settings(memory_budget_bytes=12345).memory_budget == 12345


def test_admission_waits_at_most_half_the_read_timeout() -> None:
    assert Settings(admission_timeout_s=10, read_timeout_s=30).admission_wait_s == 10
    assert Settings(admission_timeout_s=10, read_timeout_s=4).admission_wait_s == 2
