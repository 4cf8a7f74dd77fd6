"""The Open Inference Protocol over gRPC: a grpc.aio server in the worker's own event loop, beside uvicorn.

Started and stopped by the app's lifespan (app.main). With WORKERS > 1 every worker binds GRPC_PORT with
SO_REUSEPORT and the kernel spreads new connections (not calls: a channel stays on the worker it reached)
over them; with one worker the port is bound alone, so a port already in use stops start-up. On a stop signal
the server refuses new calls at once (GOAWAY: clients reconnect elsewhere; grpc.health.v1 says NOT_SERVING)
and lets the calls it has begun finish for up to SHUTDOWN_TIMEOUT_S; a call still arriving then is cancelled,
as any gRPC server does.
"""

import asyncio
import logging
import socket

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from app.operations.services import Services
from app.transports.grpc import codec
from app.transports.grpc.interceptors import ServiceInterceptor
from app.transports.grpc.servicer import InferenceServicer

logger = logging.getLogger(__name__)


def listen_address(host: str, port: int) -> str:
    """host:port, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_port_free(host: str, port: int, shared: bool) -> None:
    """Raise OSError when GRPC_PORT cannot be bound (e.g. taken), before the server tries it: gRPC's own
    failure comes mid-start-up, as a traceback. `shared`: bind as the workers do, with SO_REUSEPORT."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(shared))
        probe.bind(address)


class GrpcServer:
    """One worker's gRPC server: inference.GRPCInferenceService and grpc.health.v1 on GRPC_PORT."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.address = listen_address(settings.host, settings.grpc_port)
        self.grace_s = settings.shutdown_timeout_s
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[ServiceInterceptor(services)],
            options=[
                # gRPC's default is 4 MiB; a message, decompressed, may be as large as a REST body.
                ("grpc.max_receive_message_length", settings.max_body_bytes),
                ("grpc.so_reuseport", int(settings.workers > 1)),
            ],
        )
        self.server.add_generic_rpc_handlers((codec.method_handlers(InferenceServicer(services).handlers()),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind GRPC_PORT and serve; grpc.health.v1 answers SERVING (the models are loaded by now)."""
        self.server.add_insecure_port(self.address)
        await self.server.start()
        await self.health.set("", codec.health_status(serving=True))
        logger.info("gRPC (Open Inference Protocol) on %s", self.address)

    def drain(self) -> None:
        """Start stopping: refuse new calls now, finish those in flight (run on the event loop at a stop signal)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())

    async def stop(self) -> None:
        """Drain, and wait until the calls in flight have finished or the grace time is up."""
        self.drain()
        assert self._stopping is not None
        await self._stopping

    async def _stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.grace_s)
