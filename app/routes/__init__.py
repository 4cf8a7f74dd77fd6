"""HTTP routes: thin handlers over the registry, inputs and predict modules."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.budgets import RequestBudget
from app.offload import WorkPool

T = TypeVar("T")


class PlainRoute(Route):
    """A Starlette route for hot paths: no FastAPI dependency solving per request.

    The endpoint is called directly, without Starlette's per-request exception wrapper: errors go
    to the app's exception handlers like any other. Like Starlette's own router it records itself
    in scope["route"], so request metrics are labelled by the route template. Its OpenAPI entry
    comes from `openapi_operation`.
    """

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]], methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


async def run_work(request: Request, budget: RequestBudget, work: Callable[[], T], *, heavy: bool) -> T:
    """work() on the event loop when light; else in the work pool, told to stop if the client goes away."""
    if not heavy:
        return work()
    pool: WorkPool = request.app.state.pool
    job = asyncio.ensure_future(pool.run(work))
    watcher = asyncio.ensure_future(_disconnect(request.receive))
    try:
        await asyncio.wait((job, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not job.done():
        budget.client_gone()
    return await job


async def _disconnect(receive: Receive) -> None:
    """Returns when the client has gone away (the body has been read: nothing else can arrive)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A JSON-schema reference to a model published under components/schemas."""
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_operation(
    *,
    tag: str,
    operation_id: str,
    description: str,
    request_content: dict[str, Any],
    ok: dict[str, Any],
    errors: dict[int, str],
    error_model: type[BaseModel],
) -> dict[str, Any]:
    """The OpenAPI description of a POST handled by a PlainRoute."""
    error_content = {"application/json": {"schema": schema_ref(error_model)}}
    return {
        "post": {
            "tags": [tag],
            "summary": operation_id.replace("_", " ").capitalize(),
            "description": description,
            "operationId": operation_id,
            "requestBody": {"required": True, "content": request_content},
            "responses": {
                "200": {"description": "Success", "content": ok},
                **{str(status): {"description": text, "content": error_content} for status, text in errors.items()},
            },
        }
    }
