"""Runs uvicorn: one process, or WORKERS processes on one socket with their metrics summed.

Several workers: the supervisor forwards SIGHUP to every worker (each reloads its models in
place, see app.operations.lifecycle) instead of uvicorn's default of restarting them, and on SIGTERM it
closes its copy of the listening socket first, so new connections are refused while the
workers finish the requests they hold. Prometheus' multiprocess mode sums their metrics; its
folder is a temporary one the service creates and removes, unless PROMETHEUS_MULTIPROC_DIR is set.
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.server import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.operations.config import Settings
from app.operations.logs import logging_config
from app.operations.metrics import MULTIPROC_DIR_ENV

# uvicorn's httptools protocol plus the READ_TIMEOUT_S deadline; named by string so workers import it.
HTTP_PROTOCOL = "app.transports.http.http_protocol:DeadlineHttpToolsProtocol"


class ReloadingMultiprocess(Multiprocess):
    """uvicorn's worker supervisor, with SIGHUP meaning 'reload your models' and a prompt refusal on SIGTERM."""

    def handle_hup(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)

    def handle_term(self) -> None:
        self._close_sockets()
        super().handle_term()

    def handle_int(self) -> None:
        self._close_sockets()
        super().handle_int()

    def _close_sockets(self) -> None:
        for sock in self.sockets:
            sock.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Uvicorn settings shared by one and several workers."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": logging_config(settings),
        "access_log": False,  # app.transports.http.middleware.request_context writes the access log (ACCESS_LOG)
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        "http": HTTP_PROTOCOL,
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; here only from FORWARDED_ALLOW_IPS.
        "proxy_headers": settings.forwarded_allow_ips is not None,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def serve_one(settings: Settings, app: FastAPI) -> None:
    """Serve `app` in this process."""
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(settings)))
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(settings: Settings) -> None:
    """Serve from WORKERS fresh processes that each build and load their own app, on one socket."""
    created = None
    if MULTIPROC_DIR_ENV not in os.environ:
        created = os.environ[MULTIPROC_DIR_ENV] = tempfile.mkdtemp(prefix="digit-service-metrics-")
    try:
        config = uvicorn.Config(
            "app.main:create_app", factory=True, workers=settings.workers, **uvicorn_options(settings)
        )
        sock: socket.socket = config.bind_socket()
        ReloadingMultiprocess(config, sockets=[sock]).run()
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
