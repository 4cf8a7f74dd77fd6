"""The two predict endpoints: JSON or multipart in, probabilities out.

They are DirectRoutes: FastAPI documents them from the pydantic models of TASK_APIS, but its
per-request dependency solving and body validation (about a third of a single-image request, see
bench/) are skipped: the handler parses the raw body itself.
"""

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.budgets import RequestBudget
from app.deps import services_of
from app.errors import InvalidInput, UnsupportedMediaType, clip, quote
from app.inputs import holds_images, parse_form, parse_json_body
from app.offload import is_heavy_body
from app.middleware.request_context import note_model
from app.predict import predict
from app.registry import Task
from app.responses import JSONResponse
from app.routes import DirectRoute, error_responses, run_work
from app.schemas import (
    EXPLAIN_DOC,
    ErrorResponse,
    MulticlassRequest,
    MulticlassResponse,
    MultilabelRequest,
    MultilabelResponse,
    form_schema,
)

ERRORS = {413: "Body too large", 415: "Not JSON or multipart", 422: "Invalid input", 503: "Model not loaded"}


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
        services = services_of(request.app)
        model = services.registry.for_task(task)
        budget = RequestBudget(services.settings.request_limits)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            body = await request.body()
            pixels, options = await run_work(
                services.pool,
                request,
                budget,
                lambda: parse_json_body(body, model.spec, budget),
                heavy=is_heavy_body(body) or holds_images(body),
            )
        elif content_type == "multipart/form-data":
            images, fields = await _read_form(request, budget.limits.max_instances)
            pixels, options = await run_work(
                services.pool, request, budget, lambda: parse_form(images, fields, model.spec, budget), heavy=True
            )
        else:
            raise UnsupportedMediaType(
                f"content type {quote(content_type or '(none)')} is not supported: "
                "send application/json or multipart/form-data"
            )
        services.metrics.observe_instances(model.spec.name, len(pixels))
        note_model(request, model.spec, len(pixels))
        return JSONResponse(await predict(model, pixels, options))

    return endpoint


class TaskApi(NamedTuple):
    """What the OpenAPI page says of one task's predict route."""

    description: str
    request_model: type[BaseModel]
    response_model: type[BaseModel]
    form_fields: dict[str, Any]
    """The task's options as multipart form fields (JSON schemas)."""


TASK_APIS: dict[Task, TaskApi] = {
    "multiclass": TaskApi(
        "Which digit is in each 28x28 image? Softmax: the 10 probabilities compete and sum to 1.",
        MulticlassRequest,
        MulticlassResponse,
        {
            "top_k": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
            "explain": {"type": "boolean", "description": EXPLAIN_DOC},
        },
    ),
    "multilabel": TaskApi(
        "Which digits appear in each 56x56 picture? Sigmoid per label: independent yes/no answers.",
        MultilabelRequest,
        MultilabelResponse,
        {"threshold": {"type": "string", "description": "a number in (0, 1), or a JSON list of 10"}},
    ),
}


def predict_route(task: Task) -> DirectRoute:
    """POST /predict/{task}, documented from the task's models."""
    api = TASK_APIS[task]
    return DirectRoute(
        f"/predict/{task}",
        predict_endpoint(task),
        tag="predict",
        operation_id=f"predict_{task}",
        summary=f"Predict {task}",
        description=api.description,
        request_model=api.request_model,
        other_bodies={"multipart/form-data": {"schema": form_schema(api.form_fields)}},
        response_model=api.response_model,
        responses=error_responses(ErrorResponse, ERRORS),
    )


routes = [predict_route(task) for task in TASK_APIS]
