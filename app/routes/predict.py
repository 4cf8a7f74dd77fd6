"""The two predict endpoints: JSON or multipart in, probabilities out."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from app.config import Settings
from app.deps import MetricsDep, RegistryDep, SettingsDep
from app.errors import InvalidInput, UnsupportedMediaType
from app.inputs import parse_form, parse_json_body
from app.metrics import Metrics
from app.predict import predict
from app.registry import Model
from app.responses import JSONResponse
from app.schemas import ErrorResponse, MulticlassResponse, MultilabelResponse, form_schema

router = APIRouter(prefix="/predict", tags=["predict"])

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (413, 415, 422, 503)
}


def _request_body(request_model: str, form_fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{request_model}"}},
                "multipart/form-data": {"schema": form_schema(form_fields)},
            },
        }
    }


async def _predict(request: Request, model: Model, settings: Settings, metrics: Metrics) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        pixels, options = parse_json_body(await request.body(), model.spec, settings.max_batch)
    elif content_type == "multipart/form-data":
        images, fields = await _read_form(request, settings.max_batch)
        pixels, options = parse_form(images, fields, model.spec, settings.max_batch)
    else:
        raise UnsupportedMediaType(
            f"content type {content_type or '(none)'!r} is not supported: send application/json or multipart/form-data"
        )
    metrics.instances.labels(model.spec.name).observe(len(pixels))
    return JSONResponse(predict(model, pixels, options))


async def _read_form(request: Request, max_batch: int) -> tuple[list[bytes], dict[str, str]]:
    try:
        form = await request.form(max_files=max_batch + 1)
    except HTTPException as error:
        raise InvalidInput(f"malformed multipart body: {error.detail}") from None
    images: list[bytes] = []
    fields: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "file":
                    raise InvalidInput(f"{key}: file parts must be named 'file'")
                images.append(await value.read())
            else:
                fields[key] = value
    finally:
        await form.close()
    return images, fields


@router.post(
    "/multiclass",
    response_model=MulticlassResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=_request_body("MulticlassRequest", {"top_k": {"type": "integer", "minimum": 1, "maximum": 10}}),
)
async def predict_multiclass(
    request: Request, registry: RegistryDep, settings: SettingsDep, metrics: MetricsDep
) -> JSONResponse:
    """Which digit is in each 28x28 image? Softmax: the 10 probabilities compete and sum to 1."""
    return await _predict(request, registry.for_task("multiclass"), settings, metrics)


@router.post(
    "/multilabel",
    response_model=MultilabelResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=_request_body(
        "MultilabelRequest", {"threshold": {"type": "string", "description": "a number, or a JSON list of 10"}}
    ),
)
async def predict_multilabel(
    request: Request, registry: RegistryDep, settings: SettingsDep, metrics: MetricsDep
) -> JSONResponse:
    """Which digits appear in each 56x56 picture? Sigmoid per label: independent yes/no answers."""
    return await _predict(request, registry.for_task("multilabel"), settings, metrics)
