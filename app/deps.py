"""Typed FastAPI dependencies (async, so they run on the event loop, not a thread pool)."""

from typing import Annotated

from fastapi import Depends, Request

from app.metrics import Metrics
from app.registry import ModelRegistry


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
