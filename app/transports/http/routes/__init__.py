"""HTTP routes: thin handlers over the registry, inputs and predict modules."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi.params import Body
from fastapi.routing import APIRoute
from fastapi.utils import create_model_field
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from app.core.budgets import RequestBudget
from app.core.offload import WorkPool

T = TypeVar("T")
BINARY = {"schema": {"type": "string", "format": "binary"}}
"""The OpenAPI media type object of a body of raw bytes."""


class DirectRoute(APIRoute):
    """A POST route for hot paths: FastAPI documents it, RequestGate calls it, with no dependency solving,
    validation or per-request exception wrapper.

    The endpoint gets the Request and the path parameters as keyword arguments, reads and checks the body
    itself (within the request's budgets) and returns a Response; its errors are answered by the gate, like
    the app's exception handlers would. The router only sees the other methods on its path (405), labelled by
    the route template like every request. OpenAPI: the JSON body is `request_model`; `other_bodies` adds the
    other media types the endpoint reads (multipart form, raw bytes).
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Awaitable[Response]],
        *,
        tag: str,
        operation_id: str,
        summary: str,
        description: str,
        request_model: type[BaseModel],
        other_bodies: dict[str, Any],
        response_model: type[BaseModel],
        responses: dict[int | str, dict[str, Any]],
    ) -> None:
        super().__init__(
            path,
            endpoint,
            methods=["POST"],
            tags=[tag],
            operation_id=operation_id,
            summary=summary,
            description=description,
            response_model=response_model,
            response_description="Success",
            responses=responses,
            openapi_extra={"requestBody": {"content": other_bodies}},
        )
        json_body = Body(media_type="application/json")
        json_body.annotation = request_model
        self.body_field = create_model_field(name=f"Body_{operation_id}", type_=request_model, field_info=json_body)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's match plus scope["route"] (these routes sit on the app itself, never in an included router)."""
        match, child_scope = Route.matches(self, scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's method check: the router only gets the methods the gate does not serve, all 405."""
        await Route.handle(self, scope, receive, send)


def error_responses(model: type[BaseModel], descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses` for error statuses that all answer `model`."""
    return {status: {"model": model, "description": text} for status, text in descriptions.items()}


async def run_work(pool: WorkPool, request: Request, budget: RequestBudget, work: Callable[[], T], *, heavy: bool) -> T:
    """work() on the event loop when light; else in the work pool, told to stop if the client goes away."""
    if not heavy:
        return work()
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
