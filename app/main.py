"""Builds the FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from app import __version__
from app.core.admission import RETRY_AFTER_S, MemoryBudget
from app.core.offload import WorkPool
from app.core.registry import ModelRegistry
from app.operations.auth import KeyRing
from app.operations.config import Settings
from app.operations.lifecycle import install_signal_handlers
from app.operations.metrics import Metrics
from app.operations.reload import Reloader
from app.operations.services import Services
from app.transports.grpc.server import GrpcServer
from app.transports.http.deps import install_services, services_of
from app.transports.http.errors import install_error_handlers
from app.transports.http.http_protocol import LifespanState
from app.transports.http.middleware.auth import ApiKeyCheck
from app.transports.http.middleware.gate import RequestGate
from app.transports.http.middleware.head import HeadMiddleware
from app.transports.http.routes import DirectRoute, admin, health, models, predict, v2
from app.transports.http.routes.page import install_page

CORS_HEADERS = ["Authorization", "Content-Type", "Content-Encoding", "Inference-Header-Content-Length", "X-Request-ID"]
"""What a page on an allowed origin may send (the API's request headers)..."""
CORS_EXPOSED = ["Inference-Header-Content-Length", "X-Request-ID", "WWW-Authenticate", "Retry-After"]
"""...and read of an answer, besides the basic ones."""
BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}
"""API_KEY / ADMIN_KEY, checked by RequestGate; the docs page's Authorize button sends it."""


class ServiceApp(FastAPI):
    """FastAPI behind RequestGate, the one per-request layer (outside Starlette's error middleware, so a 500
    carries the id too), which serves the hot routes itself; CORS, when CORS_ALLOW_ORIGINS is set, around it (a
    preflight is answered before any key is asked for); the bearer scheme of the API keys in its OpenAPI schema."""

    key_check: ApiKeyCheck

    def build_middleware_stack(self) -> ASGIApp:
        services = services_of(self)
        hot_routes = [route for route in self.router.routes if isinstance(route, DirectRoute)]
        gate = RequestGate(super().build_middleware_stack(), services, self.key_check, hot_routes)
        origins = services.settings.cors_origins
        if not origins:
            return gate
        return CORSMiddleware(
            gate,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        schema.setdefault("components", {})["securitySchemes"] = BEARER
        schema["security"] = [{"bearer": []}]
        return schema


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[LifespanState]:
    """Load and verify every model before serving (unless `python -m app` already did); start gRPC (GRPC_PORT, 0:
    off) beside REST; handle signals (a stop signal stops gRPC taking calls); hand uvicorn's protocol its settings."""
    services = services_of(app)
    if not services.registry.ready:
        services.registry.load()
    grpc_server = GrpcServer(services) if services.settings.grpc_port else None
    if grpc_server is not None:
        await grpc_server.start()
    install_signal_handlers(services, grpc_server.drain if grpc_server is not None else None)
    services.metrics.workers_ready.set(1)
    settings = services.settings
    yield {"read_timeout_s": settings.read_timeout_s, "max_header_bytes": settings.max_header_bytes}
    services.metrics.worker_stopped()
    if grpc_server is not None:
        await grpc_server.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service, with its registry not loaded yet (the lifespan loads it); KeyFileError if API_KEYS_FILE is bad."""
    settings = settings or Settings()
    app = ServiceApp(
        title="Digit inference service",
        version=__version__,
        description="MNIST digits over HTTP: softmax for 'which digit?', sigmoid per label for 'which digits?'.",
        lifespan=lifespan,
        docs_url=None,  # /docs comes from app.transports.http.routes.page, with Swagger UI served from the package
        redoc_url=None,
        # Prometheus metrics are built in; FastAPI's OpenTelemetry check costs ~5 us on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    metrics = Metrics()
    pool = WorkPool(settings.cpu_share)
    registry = ModelRegistry(
        settings.models_dir, settings.intra_op_threads, metrics.observe_inference, settings.batching, pool
    )
    keys = KeyRing(settings.api_key, settings.api_keys_file)
    memory = MemoryBudget(settings.memory_budget, settings.admission_wait_s, settings.admission_queue, RETRY_AFTER_S)
    metrics.watch_memory(memory)
    install_services(app, Services(settings, registry, metrics, pool, Reloader(registry, keys), keys, memory))
    install_error_handlers(app)
    app.router.routes[:0] = [*predict.routes, *v2.routes]  # hot routes first: the router tries them in order
    for router in (models.router, health.router, v2.router, admin.router):
        app.include_router(router)
    install_page(app)
    app.key_check = ApiKeyCheck(keys, settings.admin_key)
    app.add_middleware(HeadMiddleware)
    return app
