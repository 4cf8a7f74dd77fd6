"""The predict endpoints, one per task: JSON or multipart in, probabilities out.

They are DirectRoutes: FastAPI documents them from each task's pydantic models (app.core.tasks), but its
per-request dependency solving and body validation (about a third of a single-image request, see
bench/) are skipped: the handler parses the raw body itself.
"""

from collections.abc import Awaitable, Callable

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from app.core.budgets import RequestBudget
from app.core.errors import InvalidInput, UnsupportedMediaType, clip, quote
from app.core.inputs import holds_images, parse_form, parse_json_body
from app.core.offload import is_heavy_body
from app.core.predict import predict
from app.core.schemas import ErrorResponse, form_schema
from app.core.tasks import TASKS, Task
from app.transports.http.deps import services_of
from app.transports.http.middleware.request_context import note_model
from app.transports.http.responses import JSONResponse
from app.transports.http.routes import DirectRoute, error_responses, run_work

# Uploads stay in memory (0: never spool to disk), where the memory budget counts them with their body; they
# used to spool to /tmp past 1 MB, a memory-backed volume on Kubernetes that no budget bounded.
MultiPartParser.spool_max_size = 0
ERRORS = {413: "Body too large", 415: "Not JSON or multipart", 422: "Invalid input", 503: "Model not loaded"}


async def _read_form(request: Request, budget: RequestBudget) -> tuple[list[bytes], dict[str, str]]:
    """The file parts and the form fields; the parser stops one file past MAX_INSTANCES."""
    most = budget.limits.max_instances + 1
    try:
        form = await request.form(max_files=most)
    except HTTPException as error:
        if str(error.detail).startswith("Too many files"):
            budget.refuse_instances("file", f"more than {most}")
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


def predict_endpoint(task: str) -> Callable[[Request], Awaitable[JSONResponse]]:
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
            images, fields = await _read_form(request, budget)
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


def predict_route(task: type[Task]) -> DirectRoute:
    """POST /predict/<task>, documented from the task's request and response models."""
    return DirectRoute(
        f"/predict/{task.name}",
        predict_endpoint(task.name),
        tag="predict",
        operation_id=f"predict_{task.name}",
        summary=f"Predict {task.name}",
        description=task.question,
        request_model=task.request_schema,
        other_bodies={"multipart/form-data": {"schema": form_schema(task.form_fields)}},
        response_model=task.response_schema,
        responses=error_responses(ErrorResponse, ERRORS),
    )


routes = [predict_route(task) for task in TASKS.values()]
