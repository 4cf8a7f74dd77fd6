"""DigitsClient and AsyncDigitsClient: classify images (paths, bytes or pixel arrays) with typed results.

Both send several images per request, retry what a busy service refuses (503, 429, dropped connections)
and resend a refused batch in halves, down to single images, so one broken file fails alone;
digits.protocol holds that logic once, these classes only do the I/O.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any, Self, cast

import httpx

from digits.errors import DigitsError
from digits.protocol import DEFAULT_BATCH_SIZE, Attempts, Batch, Image, Options, Reply, RetryPolicy, plan
from digits.results import Failure, MulticlassResult, MultilabelResult, Result, Task

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CONCURRENCY = 4
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def _from_environment(url: str | None, api_key: str | None) -> tuple[str, str | None]:
    """The URL and key given, else DIGITS_URL and DIGITS_API_KEY, else the default URL and no key."""
    url = url or os.environ.get("DIGITS_URL") or DEFAULT_URL
    if not url.startswith(("http://", "https://")):
        raise DigitsError(f"{url}: not a URL: expected http://host:port or https://...")
    return url, api_key or os.environ.get("DIGITS_API_KEY")


def _http_options(url: str, api_key: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return {"base_url": url, "headers": headers, "timeout": TIMEOUT}


def _in_order(pairs: Iterable[tuple[int, Result]]) -> list[Result]:
    return [result for _, result in sorted(pairs, key=lambda pair: pair[0])]


def _finished(done: set[asyncio.Future[list[tuple[int, Result]]]]) -> list[tuple[int, Result]]:
    """The pairs of completed requests; the first error of any (every error read, so none is logged as lost)."""
    errors = [error for error in (future.exception() for future in done) if error is not None]
    if errors:
        raise errors[0]
    return [pair for future in done for pair in future.result()]


class _Base:
    """The settings both clients share; url and api_key default to DIGITS_URL and DIGITS_API_KEY."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retry: RetryPolicy | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        url, self.api_key = _from_environment(url, api_key)
        self.url = url.rstrip("/")
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()

    def _attempts(self, batch: Batch) -> Attempts:
        return Attempts(self.retry, self.url, self.api_key, len(batch))


class DigitsClient(_Base):
    """A blocking client: `DigitsClient(url).multiclass(["a.png", pixels])`, one request at a time."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(url, api_key, batch_size=batch_size, retry=retry)
        self._http = httpx.Client(**_http_options(self.url, self.api_key))

    def multiclass(self, images: Iterable[Image], *, top_k: int | None = None) -> list[MulticlassResult | Failure]:
        """Which digit each image shows, in the order given."""
        results = self._predict("multiclass", images, Options(top_k=top_k))
        return cast("list[MulticlassResult | Failure]", results)

    def multilabel(
        self, images: Iterable[Image], *, threshold: float | None = None
    ) -> list[MultilabelResult | Failure]:
        """Which digits each picture holds, in the order given."""
        return cast(
            "list[MultilabelResult | Failure]", self._predict("multilabel", images, Options(threshold=threshold))
        )

    def _predict(self, task: Task, images: Iterable[Image], options: Options) -> list[Result]:
        pairs: list[tuple[int, Result]] = []
        for batch in plan(images, self.batch_size):
            pairs.extend([batch] if isinstance(batch, tuple) else self._run(task, batch, options))
        return _in_order(pairs)

    def _run(self, task: Task, batch: Batch, options: Options) -> list[tuple[int, Result]]:
        reply = self._send(batch, batch.request(task, options))
        if reply.error is not None and len(batch) > 1:
            return [pair for half in batch.split() for pair in self._run(task, half, options)]
        return batch.results(task, reply)

    def _send(self, batch: Batch, request: dict[str, Any]) -> Reply:
        attempts = self._attempts(batch)
        while True:
            try:
                outcome = attempts.after_response(self._http.post(**request))
            except httpx.TransportError as error:
                outcome = attempts.after_error(error)
            if isinstance(outcome, Reply):
                return outcome
            time.sleep(outcome)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncDigitsClient(_Base):
    """The asyncio twin of DigitsClient, with up to `concurrency` requests in flight."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(url, api_key, batch_size=batch_size, retry=retry)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(**_http_options(self.url, self.api_key), limits=limits)

    async def multiclass(
        self, images: Iterable[Image], *, top_k: int | None = None
    ) -> list[MulticlassResult | Failure]:
        """Which digit each image shows, in the order given."""
        results = _in_order([pair async for pair in self.stream("multiclass", images, top_k=top_k)])
        return cast("list[MulticlassResult | Failure]", results)

    async def multilabel(
        self, images: Iterable[Image], *, threshold: float | None = None
    ) -> list[MultilabelResult | Failure]:
        """Which digits each picture holds, in the order given."""
        results = _in_order([pair async for pair in self.stream("multilabel", images, threshold=threshold)])
        return cast("list[MultilabelResult | Failure]", results)

    async def stream(
        self, task: Task, images: Iterable[Image], *, top_k: int | None = None, threshold: float | None = None
    ) -> AsyncIterator[tuple[int, Result]]:
        """(index of the image, its result) pairs as their requests complete, not in order."""
        options = Options(top_k=top_k, threshold=threshold)
        running: set[asyncio.Future[list[tuple[int, Result]]]] = set()
        try:
            for batch in plan(images, self.batch_size):
                if isinstance(batch, tuple):
                    yield batch
                    continue
                if len(running) >= self.concurrency:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for pair in _finished(done):
                        yield pair
                running.add(asyncio.create_task(self._run(task, batch, options)))
            while running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for pair in _finished(done):
                    yield pair
        finally:
            for left in running:
                left.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _run(self, task: Task, batch: Batch, options: Options) -> list[tuple[int, Result]]:
        reply = await self._send(batch, batch.request(task, options))
        if reply.error is not None and len(batch) > 1:
            return [pair for half in batch.split() for pair in await self._run(task, half, options)]
        return batch.results(task, reply)

    async def _send(self, batch: Batch, request: dict[str, Any]) -> Reply:
        attempts = self._attempts(batch)
        while True:
            try:
                outcome = attempts.after_response(await self._http.post(**request))
            except httpx.TransportError as error:
                outcome = attempts.after_error(error)
            if isinstance(outcome, Reply):
                return outcome
            await asyncio.sleep(outcome)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
