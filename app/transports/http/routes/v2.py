"""Open Inference Protocol (V2) REST: the API Triton, KServe and MLServer clients speak.

Errors here answer `{"error": ...}` (see app.core.errors). Infer is a DirectRoute, like /predict.
"""

import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.core.budgets import RequestBudget
from app.core.dataplane import SERVER_NAME, check_ready, find_model
from app.core.dataplane import infer as infer_outputs
from app.core.dataplane import model_metadata as describe_model
from app.core.errors import InvalidInput, PayloadTooLarge, quote
from app.core.inputs import whole_number
from app.core.offload import is_heavy_body
from app.core.oip import (
    InferRequest,
    encode_infer_response,
    parse_infer_request,
)
from app.core.schemas import (
    V2Error,
    V2InferRequest,
    V2InferResponse,
    V2Live,
    V2ModelMetadata,
    V2Ready,
    V2ServerMetadata,
)
from app.transports.http.deps import RegistryDep, services_of
from app.transports.http.middleware.request_context import note_model
from app.transports.http.responses import JSONResponse
from app.transports.http.routes import BINARY, DirectRoute, error_responses, run_work

EXTENSIONS = ["binary_tensor_data"]
HEADER_LENGTH = "inference-header-content-length"
DECOMPRESSORS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": V2Error} for status in (400, 404, 503)}
INFER_ERRORS = {400: "Invalid input", 404: "Unknown model or version", 413: "Body too large", 503: "Not ready"}
INFER_DOC = (
    "Open Inference Protocol infer. With the binary tensor data extension, raw little-endian tensor "
    "bytes follow the JSON and the Inference-Header-Content-Length header gives the JSON's length."
)

router = APIRouter(prefix="/v2", tags=["open inference protocol"], responses=ERRORS)


@router.get("", response_model=V2ServerMetadata)
async def server_metadata() -> JSONResponse:
    """Server name, version and the protocol extensions it supports."""
    return JSONResponse({"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS})


@router.get("/health/live", response_model=V2Live)
async def server_live() -> JSONResponse:
    """200 while the process is up."""
    return JSONResponse({"live": True})


@router.get("/health/ready", response_model=V2Ready)
async def server_ready(request: Request, registry: RegistryDep) -> JSONResponse:
    """200 once every model is loaded and verified, else 503 (also from the moment a stop signal arrives)."""
    check_ready(registry, services_of(request.app).draining)
    return JSONResponse({"ready": True})


@router.get("/models/{name}", response_model=V2ModelMetadata)
async def model_metadata(name: str, registry: RegistryDep) -> JSONResponse:
    """The model's versions, platform, input and outputs."""
    return JSONResponse(describe_model(find_model(registry, name)))


@router.get("/models/{name}/versions/{version}", response_model=V2ModelMetadata)
async def model_version_metadata(name: str, version: str, registry: RegistryDep) -> JSONResponse:
    """The same, for one named version."""
    return JSONResponse(describe_model(find_model(registry, name, version)))


@router.get("/models/{name}/ready", response_model=V2Ready)
async def model_ready(name: str, registry: RegistryDep) -> JSONResponse:
    """200 when the model is loaded; 404 for an unknown one, 503 before loading."""
    find_model(registry, name)
    return JSONResponse({"ready": True})


@router.get("/models/{name}/versions/{version}/ready", response_model=V2Ready)
async def model_version_ready(name: str, version: str, registry: RegistryDep) -> JSONResponse:
    """The same, for one named version."""
    find_model(registry, name, version)
    return JSONResponse({"ready": True})


def _decompressed(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """The body without its Content-Encoding (gzip or deflate), never inflated past max_bytes."""
    encoding = None if encoding is None else encoding.strip().lower()
    if encoding is None or encoding == "identity":
        return body
    if encoding not in DECOMPRESSORS:
        raise InvalidInput(f"Content-Encoding {quote(encoding)} is not supported (gzip, deflate)")
    inflater = zlib.decompressobj(DECOMPRESSORS[encoding])
    try:
        plain = inflater.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise InvalidInput(f"body is not valid {encoding}: {error}") from None
    if len(plain) > max_bytes:
        raise PayloadTooLarge(f"decompressed body is larger than {max_bytes} bytes (MAX_BODY_BYTES)")
    if not inflater.eof:
        raise InvalidInput(f"body is a truncated {encoding} stream")
    if inflater.unused_data:
        raise InvalidInput(f"body has {len(inflater.unused_data)} bytes after the end of its {encoding} stream")
    return plain


def _header_length(request: Request) -> int | None:
    value = request.headers.get(HEADER_LENGTH)
    if value is None:
        return None
    return whole_number(value, "Inference-Header-Content-Length")


async def infer(request: Request, name: str) -> Response:
    """Run the model on a V2 request: JSON tensors, or JSON + binary tensors."""
    return await _infer(request, name, None)


async def infer_version(request: Request, name: str, version: str) -> Response:
    """The same, for one named version."""
    return await _infer(request, name, version)


async def _infer(request: Request, name: str, version: str | None) -> Response:
    services = services_of(request.app)
    model = find_model(services.registry, name, version)
    budget = RequestBudget(services.settings.request_limits)
    raw = await request.body()
    encoding, header_length = request.headers.get("content-encoding"), _header_length(request)

    def parse() -> InferRequest:
        body = _decompressed(raw, encoding, services.settings.max_body_bytes)
        return parse_infer_request(body, header_length, model.spec, budget)

    heavy = encoding is not None or is_heavy_body(raw)
    infer_request = await run_work(services.pool, request, budget, parse, heavy=heavy)
    services.metrics.observe_instances(model.spec.name, len(infer_request.pixels))
    note_model(request, model.spec, len(infer_request.pixels))
    outputs = await infer_outputs(model, infer_request.pixels, [output.name for output in infer_request.outputs])
    content, json_length = encode_infer_response(model.spec, infer_request, outputs)
    if json_length is None:
        return Response(content, media_type="application/json")
    return Response(
        content, media_type="application/octet-stream", headers={"Inference-Header-Content-Length": str(json_length)}
    )


def infer_route(path: str, endpoint: Callable[..., Awaitable[Response]], operation_id: str) -> DirectRoute:
    """An infer route, documented from the V2 models."""
    return DirectRoute(
        path,
        endpoint,
        tag="open inference protocol",
        operation_id=operation_id,
        summary=operation_id.replace("_", " ").capitalize(),
        description=INFER_DOC,
        request_model=V2InferRequest,
        other_bodies={"application/octet-stream": BINARY},
        response_model=V2InferResponse,
        responses={200: {"content": {"application/octet-stream": BINARY}}, **error_responses(V2Error, INFER_ERRORS)},
    )


routes = [
    infer_route("/v2/models/{name}/infer", infer, "v2_infer"),
    infer_route("/v2/models/{name}/versions/{version}/infer", infer_version, "v2_infer_version"),
]
