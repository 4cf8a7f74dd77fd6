"""What the routes work with, typed: one Services object per app, one accessor, and the Annotated deps on it."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from app.config import Settings
from app.metrics import Metrics
from app.offload import WorkPool
from app.registry import ModelRegistry
from app.reload import Reloader


@dataclass(slots=True, eq=False)
class Services:
    """The app's settings and long-lived objects, built once by create_app."""

    settings: Settings
    registry: ModelRegistry
    metrics: Metrics
    pool: WorkPool
    reloader: Reloader
    draining: bool = False
    """True from the moment a stop signal arrives (readiness answers 503)."""
    hangups_to_skip: int = 0
    """SIGHUPs this worker asked the supervisor to send every worker after it had reloaded: its own copy is skipped."""


def install_services(app: Starlette, services: Services) -> None:
    """Give the app its Services (read back with services_of)."""
    app.state.services = services


def services_of(app: Starlette) -> Services:
    """The app's Services."""
    services: Services = app.state.services
    return services


async def get_registry(request: Request) -> ModelRegistry:
    return services_of(request.app).registry


async def get_metrics(request: Request) -> Metrics:
    return services_of(request.app).metrics


async def get_reloader(request: Request) -> Reloader:
    return services_of(request.app).reloader


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReloaderDep = Annotated[Reloader, Depends(get_reloader)]
