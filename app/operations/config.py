"""Service settings: every knob is an environment variable."""

import math
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.batching import BatchingPolicy
from app.core.budgets import RequestLimits
from app.operations.auth import BLANKS, normalise_key

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED_V1 = 1 << 60
"""cgroup v1 writes 'no limit' as a number near 2**63."""
MIB = 1024 * 1024
WORKER_BASELINE_BYTES = 160 * MIB
"""RSS of one worker with both models loaded (113 MiB) and onnxruntime's arenas grown by full batches of both
models (+43 MiB, kept for speed); see the README's Limits section."""
MEMORY_HEADROOM = 0.1
"""Part of each worker's share of the memory limit left for what no reservation counts (allocator slack)."""
PARSE_BYTES_PER_BODY_BYTE = 13
"""Peak of one work-pool thread parsing the largest JSON body, per body byte: orjson's document and objects
(12.8 for 8 MB of /predict or V2 JSON, `python -m bench.memory --expansion`)."""
DECODE_BYTES_PER_PIXEL = 9
"""Peak of one work-pool thread decoding an image, per pixel of the largest image (RGBA, then its reduction)."""
DEFAULT_MEMORY_BUDGET_BYTES = 256 * MIB
"""The budget when the container has no memory limit."""
MIN_MEMORY_BUDGET_BYTES = 16 * MIB


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """The CPU quota of this process's cgroup in cores (v2 `cpu.max` or v1 CFS), None if unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def cgroup_memory_limit(root: Path = CGROUP_ROOT) -> int | None:
    """The memory limit of this process's cgroup in bytes (v2 `memory.max` or v1 `memory.limit_in_bytes`), None
    if unlimited."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            limit = int(text)
        except ValueError:
            continue
        return limit if limit < UNLIMITED_V1 else None
    return None


def available_cpus(root: Path = CGROUP_ROOT) -> int:
    """Cores this process may really use: CPU affinity, capped by the cgroup quota (at least 1)."""
    cores = len(os.sched_getaffinity(0))
    limit = cgroup_cpu_limit(root)
    if limit is not None:
        cores = min(cores, math.ceil(limit))
    return max(1, cores)


class Settings(BaseSettings):
    """Service settings, read from environment variables of the same name (case-insensitive)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    models_dir: Path = Field(DEFAULT_MODELS_DIR, description="Folder holding <name>/model.onnx + model.json")
    host: str = Field("127.0.0.1", description="Address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on")
    grpc_port: int = Field(
        8001, ge=0, le=65535, description="Port of the Open Inference Protocol over gRPC, on HOST; 0 turns gRPC off"
    )
    workers: int = Field(1, ge=1, description="Uvicorn worker processes")
    max_instances: int = Field(
        256,
        ge=1,
        validation_alias=AliasChoices("max_instances", "max_batch"),
        description="Most instances (images) in one request; MAX_BATCH is its deprecated name",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1, description="Largest request body accepted")
    max_image_pixels: int = Field(
        2048 * 2048, ge=1, description="Most pixels an uploaded image may declare (checked before decoding)"
    )
    max_image_aspect: float = Field(
        16.0, ge=1, description="Most elongated an uploaded image may be (long side : short)"
    )
    max_request_pixels: int = Field(
        4 * 2048 * 2048, ge=1, description="Most pixels all uploaded images of one request may declare together"
    )
    read_timeout_s: float = Field(
        30.0, gt=0, description="Time a client has to send a request's complete headers and body (else 408 and close)"
    )
    max_concurrency: int = Field(
        256,
        ge=1,
        description="Most requests one worker serves at once, REST and gRPC each; more get 503 or UNAVAILABLE "
        "(health and metrics exempt)",
    )
    memory_budget_bytes: int | None = Field(
        None,
        ge=1,
        description="Bytes one worker may reserve for requests in flight; default: the container's memory limit "
        "/ WORKERS minus the worker's baseline, headroom and work-pool threads (256 MiB without a limit)",
    )
    admission_timeout_s: float = Field(
        10.0, gt=0, description="How long a request may wait for room in the memory budget (then 503 + Retry-After)"
    )
    admission_queue: int = Field(
        256, ge=0, description="Most requests waiting for room in the memory budget at once; more get 503 at once"
    )
    max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request head (request line and headers); past it 431 and close"
    )
    ort_threads: int | None = Field(
        None, ge=1, description="onnxruntime intra-op threads per model; default: the container's CPUs / WORKERS"
    )
    adaptive_batching: bool = Field(
        False, description="Let concurrent requests share one onnxruntime call (off: it raised p99 more than it gained)"
    )
    max_batch_size: int = Field(64, ge=1, description="Most rows the batcher puts in one onnxruntime call")
    max_queue_delay_ms: float = Field(
        0.0, ge=0, le=1000, description="How long the batcher may hold the first request for company (0: none)"
    )
    access_log: bool = Field(False, description="Log every request (costs throughput; /metrics counts them anyway)")
    cors_allow_origins: str = Field(
        "",
        description="Origins whose web pages may call the API (comma-separated, e.g. https://a.example, or *); "
        "empty: none, browsers keep other origins out",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated addresses or networks, "
        "* for any); unset: none, the client address is the connection's",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = Field(
        "info", description="Uvicorn and service log level"
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text, or one JSON object per line")
    shutdown_timeout_s: float = Field(
        20.0, ge=0, description="On SIGTERM, how long requests in flight may take to finish before the process exits"
    )
    api_key: SecretStr | None = Field(None, description="A key callers must send as `Authorization: Bearer <key>`")
    api_keys_file: Path | None = Field(None, description="A file of such keys, one per line; re-read on reload")
    admin_key: SecretStr | None = Field(None, description="The key for /admin/*; unset: /admin is disabled")

    @model_validator(mode="after")
    def _ports_differ(self) -> "Settings":
        if self.grpc_port and self.grpc_port == self.port:
            raise ValueError(f"GRPC_PORT and PORT are both {self.port}: give gRPC a port of its own, or 0 (off)")
        return self

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("api_key", "admin_key")
    @classmethod
    def _normalise_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Blank means unset; else stripped, and refused unless long enough and visible ASCII (app.operations.auth)."""
        if value is None or not value.get_secret_value().strip(BLANKS):
            return None
        return SecretStr(normalise_key(value.get_secret_value(), str(info.field_name).upper()))

    @property
    def cors_origins(self) -> list[str]:
        """CORS_ALLOW_ORIGINS as a list (empty: CORS is off)."""
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]

    @property
    def admission_wait_s(self) -> float:
        """ADMISSION_TIMEOUT_S, at most half of READ_TIMEOUT_S: the read deadline runs while a request waits with
        its body unread, and the body needs the rest."""
        return min(self.admission_timeout_s, self.read_timeout_s / 2)

    @property
    def batching(self) -> BatchingPolicy | None:
        """The batcher's policy, or None when ADAPTIVE_BATCHING is off."""
        if not self.adaptive_batching:
            return None
        return BatchingPolicy(self.max_batch_size, self.max_queue_delay_ms / 1000)

    @cached_property
    def request_limits(self) -> RequestLimits:
        """What one request may declare: instances and image pixels."""
        return RequestLimits(self.max_instances, self.max_image_pixels, self.max_image_aspect, self.max_request_pixels)

    @property
    def cpu_share(self) -> int:
        """This worker's share of the CPUs the container may use: the work pool's threads."""
        return max(1, available_cpus() // self.workers)

    @property
    def memory_budget(self) -> int:
        """MEMORY_BUDGET_BYTES if set, else derived from the container's memory limit (see memory_budget_for)."""
        if self.memory_budget_bytes is not None:
            return self.memory_budget_bytes
        return self.memory_budget_for(cgroup_memory_limit(), self.cpu_share)

    def memory_budget_for(self, limit: int | None, pool_threads: int) -> int:
        """This worker's share of a memory limit (None: no limit, 256 MiB), less what no reservation counts: the
        headroom, the worker's baseline and the work pool's threads."""
        if limit is None:
            return DEFAULT_MEMORY_BUDGET_BYTES
        share = int(limit // self.workers * (1 - MEMORY_HEADROOM))
        return max(MIN_MEMORY_BUDGET_BYTES, share - WORKER_BASELINE_BYTES - self.pool_working_bytes(pool_threads))

    def pool_working_bytes(self, pool_threads: int) -> int:
        """Most memory the work pool's threads use at once, each parsing the largest body or decoding the
        largest image: not part of any request's reservation, since only that many run at a time."""
        thread = max(PARSE_BYTES_PER_BODY_BYTE * self.max_body_bytes, DECODE_BYTES_PER_PIXEL * self.max_image_pixels)
        return pool_threads * thread

    @property
    def intra_op_threads(self) -> int:
        """ORT_THREADS if set, else the CPUs the container's quota allows, shared among the workers."""
        return self.ort_threads or self.cpu_share


def deprecation_warnings(environ: Mapping[str, str]) -> list[str]:
    """One line for each deprecated setting name found in the environment."""
    names = {name.upper() for name in environ}
    return ["MAX_BATCH is deprecated: use MAX_INSTANCES"] if "MAX_BATCH" in names else []
