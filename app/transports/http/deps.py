"""The app's Services: one accessor, and the Annotated deps on it the routes take."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from app.core.registry import ModelRegistry
from app.operations.metrics import Metrics
from app.operations.reload import Reloader
from app.operations.services import Services


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
