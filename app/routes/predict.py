"""The two predict endpoints: JSON or multipart in, probabilities out.

They are PlainRoutes rather than FastAPI path operations: FastAPI's per-request dependency
solving cost about a third of a single-image request (see bench/). Their OpenAPI entries are
published from the same pydantic models by `openapi_paths`.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.budgets import RequestBudget
from app.errors import InvalidInput, UnsupportedMediaType, clip, quote
from app.inputs import holds_images, parse_form, parse_json_body
from app.offload import is_heavy_body
from app.middleware.request_context import note_model
from app.predict import predict
from app.registry import Task
from app.responses import JSONResponse
from app.routes import PlainRoute, openapi_operation, run_work, schema_ref
from app.schemas import (
    EXPLAIN_DOC,
    ErrorResponse,
    MulticlassRequest,
    MulticlassResponse,
    MultilabelRequest,
    MultilabelResponse,
    form_schema,
)

ERROR_STATUSES = {413: "Body too large", 415: "Not JSON or multipart", 422: "Invalid input", 503: "Model not loaded"}


async def _read_form(request: Request, max_files: int) -> tuple[list[bytes], dict[str, str]]:
    try:
        form = await request.form(max_files=max_files + 1)
    except HTTPException as error:
        raise InvalidInput(f"malformed multipart body: {clip(str(error.detail))}") from None
    images: list[bytes] = []
    fields: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "file":
                    raise InvalidInput(f"{clip(key)}: file parts must be named 'file'")
                images.append(await value.read())
            else:
                fields[key] = value
    finally:
        await form.close()
    return images, fields


def predict_endpoint(task: Task) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The endpoint answering one task with the model the registry holds for it."""

    async def endpoint(request: Request) -> JSONResponse:
        state = request.app.state
        model = state.registry.for_task(task)
        budget = RequestBudget(state.settings.request_limits)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            body = await request.body()
            pixels, options = await run_work(
                request,
                budget,
                lambda: parse_json_body(body, model.spec, budget),
                heavy=is_heavy_body(body) or holds_images(body),
            )
        elif content_type == "multipart/form-data":
            images, fields = await _read_form(request, budget.limits.max_instances)
            pixels, options = await run_work(
                request, budget, lambda: parse_form(images, fields, model.spec, budget), heavy=True
            )
        else:
            raise UnsupportedMediaType(
                f"content type {quote(content_type or '(none)')} is not supported: "
                "send application/json or multipart/form-data"
            )
        state.metrics.observe_instances(model.spec.name, len(pixels))
        note_model(request, model.spec, len(pixels))
        return JSONResponse(await predict(model, pixels, options))

    return endpoint


routes = [
    PlainRoute("/predict/multiclass", predict_endpoint("multiclass"), methods=["POST"]),
    PlainRoute("/predict/multilabel", predict_endpoint("multilabel"), methods=["POST"]),
]

OPERATIONS: dict[str, tuple[str, type[BaseModel], type[BaseModel], dict[str, Any]]] = {
    "multiclass": (
        "Which digit is in each 28x28 image? Softmax: the 10 probabilities compete and sum to 1.",
        MulticlassRequest,
        MulticlassResponse,
        {
            "top_k": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
            "explain": {"type": "boolean", "description": EXPLAIN_DOC},
        },
    ),
    "multilabel": (
        "Which digits appear in each 56x56 picture? Sigmoid per label: independent yes/no answers.",
        MultilabelRequest,
        MultilabelResponse,
        {"threshold": {"type": "string", "description": "a number in (0, 1), or a JSON list of 10"}},
    ),
}


def openapi_paths() -> tuple[dict[str, Any], list[type[BaseModel]]]:
    """OpenAPI path items of the predict routes, and the models their schemas refer to."""
    paths: dict[str, Any] = {}
    models: list[type[BaseModel]] = [ErrorResponse]
    for task, (description, request_model, response_model, form_fields) in OPERATIONS.items():
        models += [request_model, response_model]
        paths[f"/predict/{task}"] = openapi_operation(
            tag="predict",
            operation_id=f"predict_{task}",
            description=description,
            request_content={
                "application/json": {"schema": schema_ref(request_model)},
                "multipart/form-data": {"schema": form_schema(form_fields)},
            },
            ok={"application/json": {"schema": schema_ref(response_model)}},
            errors=ERROR_STATUSES,
            error_model=ErrorResponse,
        )
    return paths, models
