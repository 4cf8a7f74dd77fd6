"""Typed FastAPI dependencies (async, so they run on the event loop, not a thread pool)."""

from typing import Annotated

from fastapi import Depends, Request

from app.metrics import Metrics
from app.registry import ModelRegistry
from app.reload import Reloader


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_reloader(request: Request) -> Reloader:
    return request.app.state.reloader


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReloaderDep = Annotated[Reloader, Depends(get_reloader)]
