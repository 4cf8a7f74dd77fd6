"""The HTTP conversation without the I/O, shared by the sync and the async client: which images go
together in one request, what that request looks like, and what an answer (or a dropped connection)
means: results, a wait before trying again, a failure of that request, or the end of the job.
"""

import email.utils
import os
import random
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from digits.errors import AuthenticationError, NotTheService, ServiceBusy, ServiceUnreachable
from digits.results import Failure, Result, Task, parse_prediction

DEFAULT_BATCH_SIZE = 64
"""Images per request: 3.9x the files/s of one per request, and 256 barely faster (bench/client.py, README)."""
MAX_BATCH_BYTES = 2 * 1024 * 1024
"""A request's encoded images stop growing past this, well under the service's MAX_BODY_BYTES (8 MiB)."""
ALONE = re.compile(r"^(\d+: )(?:file|instances)\[0\]: ")
"""The position the service names in an error (`422: file[0]: ...`), pointless for an image sent alone."""
DROPS_BEFORE_HALVING = 2
"""A batch whose connection keeps dropping is sent in halves: a service that refuses a request before reading
all of it (past MAX_INSTANCES, MAX_BODY_BYTES) closes the connection, and the refusal may be lost with it."""
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class SupportsToList(Protocol):
    """A numpy array (or anything with tolist()): raw pixels, 0..255, sent as a JSON instance."""

    def tolist(self) -> Any: ...


Image = str | os.PathLike[str] | bytes | SupportsToList
"""A path to a PNG or JPEG file, the bytes of one, or an array of raw pixels."""


@dataclass(frozen=True)
class Entry:
    """One image ready to send: an encoded file to upload, or pixels to send as JSON."""

    index: int
    source: str
    upload: bytes | None = None
    pixels: Any = None


@dataclass(frozen=True)
class Options:
    """The task's options, as the service names them (None: the model's default)."""

    top_k: int | None = None
    threshold: float | None = None

    def fields(self) -> dict[str, Any]:
        return {
            name: value for name, value in (("top_k", self.top_k), ("threshold", self.threshold)) if value is not None
        }


@dataclass(frozen=True)
class Batch:
    """Images of one kind (all uploads or all pixels) sent in one request."""

    entries: tuple[Entry, ...]

    def request(self, task: Task, options: Options) -> dict[str, Any]:
        """The keyword arguments of httpx's post() for this batch."""
        url = f"/predict/{task}"
        if self.entries[0].upload is None:
            return {"url": url, "json": {"instances": [entry.pixels for entry in self.entries], **options.fields()}}
        files = [("file", (_file_name(entry.source), entry.upload, _media_type(entry.source))) for entry in self]
        return {"url": url, "files": files, "data": {name: str(value) for name, value in options.fields().items()}}

    def split(self) -> tuple["Batch", "Batch"]:
        """The two halves of a refused batch, each sent again: halving down to one image, a broken file
        fails alone (in about 2 log2(n) requests rather than n), and a batch over one of the service's
        limits (MAX_INSTANCES, MAX_REQUEST_PIXELS) is cut until it fits."""
        middle = len(self.entries) // 2
        return Batch(self.entries[:middle]), Batch(self.entries[middle:])

    def results(self, task: Task, reply: "Reply") -> list[tuple[int, Result]]:
        """Each image's result from the service's reply (or the reply's error for each)."""
        if reply.error is None and len(reply.predictions) != len(self.entries):
            reply = Reply(error=f"the service answered {len(reply.predictions)} predictions for {len(self)} images")
        if reply.error is not None:
            error = ALONE.sub(r"\1", reply.error) if len(self) == 1 else reply.error
            return [(entry.index, Failure(entry.source, error)) for entry in self]
        return [
            (entry.index, parse_prediction(task, entry.source, prediction))
            for entry, prediction in zip(self.entries, reply.predictions, strict=True)
        ]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _file_name(source: str) -> str:
    return Path(source).name or "image"


def _media_type(source: str) -> str:
    return MEDIA_TYPES.get(Path(source).suffix.lower(), "application/octet-stream")


def read_entry(index: int, image: Image) -> Entry | Failure:
    """The image as an Entry to send, or a Failure when its file cannot be read."""
    if isinstance(image, bytes):
        return Entry(index, f"<bytes {index}>", upload=image)
    if isinstance(image, str | os.PathLike):
        source = os.fspath(image)
        try:
            return Entry(index, source, upload=Path(source).read_bytes())
        except OSError as error:
            return Failure(source, f"cannot read the file: {error.strerror or error}")
    return Entry(index, f"<array {index}>", pixels=image.tolist())


def plan(
    images: Iterable[Image], batch_size: int = DEFAULT_BATCH_SIZE, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[tuple[int, Failure] | Batch]:
    """Batches of at most batch_size images of one kind (and about max_bytes of files), in order; files are
    read as their batch is formed, so a long job does not hold every file in memory. An unreadable file is
    yielded as its (index, Failure)."""
    pending: list[Entry] = []
    size = 0
    for index, image in enumerate(images):
        entry = read_entry(index, image)
        if isinstance(entry, Failure):
            yield index, entry
            continue
        kind_changed = bool(pending) and (pending[0].upload is None) != (entry.upload is None)
        if pending and (kind_changed or len(pending) == batch_size or size + len(entry.upload or b"") > max_bytes):
            yield Batch(tuple(pending))
            pending, size = [], 0
        pending.append(entry)
        size += len(entry.upload or b"")
    if pending:
        yield Batch(tuple(pending))


@dataclass(frozen=True)
class Reply:
    """What a request came to: the service's predictions, or why it has none."""

    predictions: Sequence[dict[str, Any]] = ()
    error: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a request the service is too busy for (503, 429) or whose connection dropped.

    Each wait honours Retry-After (up to max_delay_s) and adds a random share of an exponential backoff, so
    clients refused together do not come back together; a request still refused after patience_s stops the
    job (ServiceBusy): a service down that long is down, and waiting as long again for each file would not help.
    """

    patience_s: float = 600.0
    max_delay_s: float = 30.0
    base_delay_s: float = 0.25

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt number `attempt + 1`."""
        backoff = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))
        return min(self.max_delay_s, (retry_after or 0.0) + backoff)


def retry_after_s(value: str | None) -> float | None:
    """A Retry-After header in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_detail(response: httpx.Response) -> str:
    """The service's `detail` of an error answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail is not None else (response.text[:200] or response.reason_phrase)


@dataclass
class Attempts:
    """The retries of one request of `images` images: after each answer or dropped connection, the reply or a
    wait (seconds)."""

    policy: RetryPolicy
    url: str
    api_key: str | None
    images: int
    count: int = 0
    drops: int = 0
    started: float = field(default_factory=time.monotonic)

    def after_response(self, response: httpx.Response) -> Reply | float:
        status = response.status_code
        if status == httpx.codes.OK:
            predictions = response.json().get("predictions")
            if not isinstance(predictions, list):
                raise NotTheService(f"{self.url} answered without predictions: is it the digit service?")
            return Reply(predictions)
        detail = error_detail(response)
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            advice = "it refused the key sent" if self.api_key else "pass --api-key or set DIGITS_API_KEY"
            raise AuthenticationError(f"the service at {self.url} needs an API key: {advice} ({status}: {detail})")
        if status in (httpx.codes.NOT_FOUND, httpx.codes.METHOD_NOT_ALLOWED):
            raise NotTheService(
                f"{self.url}{response.request.url.path} is not there ({status}): is it the digit service?"
            )
        if status in (httpx.codes.SERVICE_UNAVAILABLE, httpx.codes.TOO_MANY_REQUESTS):
            return self._wait(f"{status}: {detail}", retry_after_s(response.headers.get("retry-after")))
        return Reply(error=f"{status}: {detail}")

    def after_error(self, error: httpx.TransportError) -> Reply | float:
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            raise ServiceUnreachable(f"cannot reach the service at {self.url}: {error or type(error).__name__}")
        self.drops += 1
        if self.images > 1 and self.drops >= DROPS_BEFORE_HALVING:
            return Reply(error=f"the connection dropped {self.drops} times ({type(error).__name__}: {error})")
        return self._wait(f"{type(error).__name__}: {error}", None)

    def _wait(self, reason: str, retry_after: float | None) -> float:
        delay = self.policy.delay(self.count, retry_after)
        self.count += 1
        if time.monotonic() - self.started + delay > self.policy.patience_s:
            raise ServiceBusy(
                f"the service at {self.url} still refused after {self.count} tries in "
                f"{time.monotonic() - self.started:.0f} s ({reason})"
            )
        return delay
