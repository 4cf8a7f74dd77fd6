"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.core.dataplane import check_ready
from app.core.schemas import ErrorResponse, Status
from app.transports.http.deps import MetricsDep, RegistryDep, services_of
from app.transports.http.responses import JSONResponse

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Status)
async def healthz() -> JSONResponse:
    """The process is alive (never touches the models)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Status, responses={503: {"model": ErrorResponse}})
async def readyz(request: Request, registry: RegistryDep) -> JSONResponse:
    """200 once every model is loaded and verified, else 503 (also from the moment a stop signal arrives)."""
    check_ready(registry, services_of(request.app).draining)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text exposition."""
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
