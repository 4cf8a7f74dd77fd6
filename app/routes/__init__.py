"""HTTP routes: thin handlers over the registry, inputs and predict modules."""

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


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
