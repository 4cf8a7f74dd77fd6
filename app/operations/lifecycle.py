"""Process signals of a serving worker: SIGTERM and SIGINT drain it, SIGHUP reloads its models.

Uvicorn already stops on SIGTERM the right way: it closes the listening socket (new connections
are refused), closes idle keep-alive connections, lets requests in flight finish for up to
SHUTDOWN_TIMEOUT_S (its `timeout_graceful_shutdown`) and exits. These handlers add what it does
not know: readiness turns 503 at the signal, and SIGHUP reloads instead of killing the process.
"""

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from app.operations.reload import Reloader
from app.operations.services import Services

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def reload_other_workers(services: Services) -> None:
    """With WORKERS > 1, have the supervisor (app.transports.http.server) send SIGHUP to every worker so all reload;
    this worker, which has just reloaded, skips the copy it gets back."""
    if services.settings.workers > 1:
        services.hangups_to_skip += 1
        os.kill(os.getppid(), signal.SIGHUP)


def install_signal_handlers(services: Services, on_drain: Callable[[], object] | None = None) -> None:
    """Chain a drain mark (and `on_drain`, run on the event loop: the gRPC server stops taking calls) before
    uvicorn's SIGTERM/SIGINT handlers; reload on SIGHUP (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return  # an in-process test client: no signals to handle
    reloader: Reloader = services.reloader
    loop = asyncio.get_running_loop()
    for sig in DRAIN_SIGNALS:
        signal.signal(sig, _draining_then(services, signal.getsignal(sig), loop, on_drain))
    reloads: set[asyncio.Task[object]] = set()

    def reload_on_hangup() -> None:
        if services.hangups_to_skip:
            services.hangups_to_skip -= 1
            return
        task = loop.create_task(reloader.reload("SIGHUP"))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_on_hangup)


def _draining_then(
    services: Services, previous: object, loop: asyncio.AbstractEventLoop, on_drain: Callable[[], object] | None
) -> Callable[[int, FrameType | None], None]:
    def handler(sig: int, frame: FrameType | None) -> None:
        if not services.draining and on_drain is not None:
            loop.call_soon_threadsafe(on_drain)
        services.draining = True
        if callable(previous):
            previous(sig, frame)

    return handler
