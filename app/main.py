"""Builds the FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app import __version__
from app.auth import KeyRing
from app.config import Settings
from app.errors import install_error_handlers
from app.http_protocol import LifespanState
from app.lifecycle import install_signal_handlers
from app.metrics import Metrics
from app.middleware.auth import ApiKeyMiddleware
from app.middleware.request_limits import RequestLimitsMiddleware
from app.middleware.request_context import ServiceApp
from app.offload import WorkPool
from app.registry import ModelRegistry
from app.reload import Reloader
from app.routes import admin, health, models, predict, v2
from app.routes.page import install_page


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[LifespanState]:
    """Load and verify every model before serving (unless `python -m app` already did); handle signals; hand
    uvicorn's protocol its settings."""
    registry: ModelRegistry = app.state.registry
    if not registry.ready:
        registry.load()
    install_signal_handlers(app)
    app.state.metrics.workers_ready.set(1)
    yield {"read_timeout_s": app.state.settings.read_timeout_s}
    app.state.metrics.worker_stopped()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service, with its registry not loaded yet (the lifespan loads it); KeyFileError if API_KEYS_FILE is bad."""
    settings = settings or Settings()
    app = ServiceApp(
        title="Digit inference service",
        version=__version__,
        description="MNIST digits over HTTP: softmax for 'which digit?', sigmoid per label for 'which digits?'.",
        lifespan=lifespan,
        docs_url=None,  # /docs comes from app.routes.page, with Swagger UI served from the package
        redoc_url=None,
        # Prometheus metrics are built in; FastAPI's OpenTelemetry check costs ~5 us on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    metrics = Metrics()
    pool = WorkPool(settings.cpu_share)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.pool = pool
    app.state.registry = ModelRegistry(
        settings.models_dir, settings.intra_op_threads, metrics.observe_inference, settings.batching, pool
    )
    keys = KeyRing(settings.api_key, settings.api_keys_file)
    app.state.reloader = Reloader(app.state.registry, keys)
    app.state.draining = False
    install_error_handlers(app)
    app.router.routes[:0] = [*predict.routes, *v2.routes]  # hot routes first: the router tries them in order
    for router in (models.router, health.router, v2.router, admin.router):
        app.include_router(router)
    install_page(app)
    # The last added runs first: request limits (an early answer closes the connection), API keys, then the
    # routes; the request id, request metrics and access log wrap them all (see ServiceApp).
    app.add_middleware(ApiKeyMiddleware, keys=keys, admin_key=settings.admin_key)
    app.add_middleware(
        RequestLimitsMiddleware, max_requests=settings.max_concurrency, max_body_bytes=settings.max_body_bytes
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the PlainRoutes (predict and V2 infer), described from their pydantic models."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        plain_models = []
        for paths, route_models in (predict.openapi_paths(), v2.openapi_paths()):
            schema["paths"].update(paths)
            plain_models += route_models
        for model in plain_models:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]  # API_KEY / ADMIN_KEY; the docs page's Authorize button sends it
        app.openapi_schema = schema
    return app.openapi_schema
