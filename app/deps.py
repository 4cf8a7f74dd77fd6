"""Typed FastAPI dependencies (async, so they run on the event loop, not a thread pool)."""

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.metrics import Metrics
from app.registry import ModelRegistry


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
