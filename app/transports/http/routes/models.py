"""The model repository as seen over HTTP."""

from fastapi import APIRouter

from app.core.schemas import ErrorResponse, ModelList
from app.transports.http.deps import RegistryDep, ReloaderDep
from app.transports.http.responses import JSONResponse

router = APIRouter(tags=["models"])


@router.get("/models", response_model=ModelList, responses={503: {"model": ErrorResponse}})
async def list_models(registry: RegistryDep, reloader: ReloaderDep) -> JSONResponse:
    """The metadata of every loaded model, and when the last reload ran and whether it failed (the log and
    POST /admin/reload say what failed)."""
    return JSONResponse(
        {
            "models": [model.spec.card.model_dump(mode="json") for model in registry.models()],
            "last_reload": reloader.public_last,
        }
    )


@router.get(
    "/models/{name}",
    response_model=dict[str, object],
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def get_model(name: str, registry: RegistryDep) -> JSONResponse:
    """One model's metadata: task, activation, input shape, labels, temperature or thresholds, metrics."""
    return JSONResponse(registry.get(name).spec.card.model_dump(mode="json"))
