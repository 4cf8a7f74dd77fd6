"""Builds the FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from app import __version__
from app.core.offload import WorkPool
from app.core.registry import ModelRegistry
from app.operations.auth import KeyRing
from app.operations.config import Settings
from app.operations.lifecycle import install_signal_handlers
from app.operations.metrics import Metrics
from app.operations.reload import Reloader
from app.operations.services import Services
from app.transports.http.deps import install_services, services_of
from app.transports.http.errors import install_error_handlers
from app.transports.http.http_protocol import LifespanState
from app.transports.http.middleware.auth import ApiKeyCheck
from app.transports.http.middleware.gate import RequestGate
from app.transports.http.routes import DirectRoute, admin, health, models, predict, v2
from app.transports.http.routes.page import install_page

BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}
"""API_KEY / ADMIN_KEY, checked by RequestGate; the docs page's Authorize button sends it."""


class ServiceApp(FastAPI):
    """FastAPI behind RequestGate, the one per-request layer (outside Starlette's error middleware, so a 500
    carries the id too), which serves the hot routes itself; the bearer scheme of the API keys in its OpenAPI
    schema."""

    key_check: ApiKeyCheck

    def build_middleware_stack(self) -> ASGIApp:
        hot_routes = [route for route in self.router.routes if isinstance(route, DirectRoute)]
        return RequestGate(super().build_middleware_stack(), services_of(self), self.key_check, hot_routes)

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        schema.setdefault("components", {})["securitySchemes"] = BEARER
        schema["security"] = [{"bearer": []}]
        return schema


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[LifespanState]:
    """Load and verify every model before serving (unless `python -m app` already did); handle signals; hand
    uvicorn's protocol its settings."""
    services = services_of(app)
    if not services.registry.ready:
        services.registry.load()
    install_signal_handlers(services)
    services.metrics.workers_ready.set(1)
    yield {"read_timeout_s": services.settings.read_timeout_s}
    services.metrics.worker_stopped()


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
    install_services(app, Services(settings, registry, metrics, pool, Reloader(registry, keys)))
    install_error_handlers(app)
    app.router.routes[:0] = [*predict.routes, *v2.routes]  # hot routes first: the router tries them in order
    for router in (models.router, health.router, v2.router, admin.router):
        app.include_router(router)
    install_page(app)
    app.key_check = ApiKeyCheck(keys, settings.admin_key)
    return app
