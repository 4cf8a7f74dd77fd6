"""Protobuf messages <-> the data plane's values: the only module that touches Triton's generated messages.

Inputs come as `raw_input_contents` (little-endian bytes) or as typed `contents`, never both; outputs always go
in `raw_output_contents` (tritonclient's `as_numpy` reads only those), one per output, in the order asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2

from app.core.budgets import RequestBudget
from app.core.dataplane import PLATFORM
from app.core.errors import InvalidInput, quote
from app.core.oip import OutputTensor, check_input, check_output_names, input_tensor, output_tensors
from app.core.registry import ModelSpec
from app.core.tasks import TensorSpec
from app.transports.grpc.generated import grpc_service_pb2 as pb
from app.transports.grpc.generated import model_config_pb2 as config_pb

SERVICE = "inference.GRPCInferenceService"
BACKEND = "onnxruntime"
CONTENTS = {
    "FP32": ("fp32_contents", np.float32),
    "FP64": ("fp64_contents", np.float64),
    "UINT8": ("uint_contents", np.int64),
    "INT32": ("int_contents", np.int64),
    "INT64": ("int64_contents", np.int64),
}
"""Where typed values of each input datatype go in InferTensorContents (UINT8 in uint_contents, as Triton reads it),
and the numpy type they are read as."""
ALL_CONTENTS = [field.name for field in pb.InferTensorContents.DESCRIPTOR.fields]
SHARED_MEMORY = "shared_memory_region"

Context = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Context], Awaitable[Any]]


def method_handlers(implemented: dict[str, Handler]) -> grpc.GenericRpcHandler:
    """The RPCs of inference.GRPCInferenceService that are implemented, by name; gRPC answers UNIMPLEMENTED for
    the others."""
    methods = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].methods_by_name
    handlers = {}
    for name, behaviour in implemented.items():
        method = methods[name]
        request_type = getattr(pb, method.input_type.name)
        handlers[name] = grpc.unary_unary_rpc_method_handler(
            behaviour, request_deserializer=request_type.FromString, response_serializer=_serialize
        )
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def _serialize(message: Any) -> bytes:
    data: bytes = message.SerializeToString()
    return data


def health_status(serving: bool) -> int:
    """grpc.health.v1's SERVING or NOT_SERVING."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    return int(status)


def live(is_live: bool) -> pb.ServerLiveResponse:
    return pb.ServerLiveResponse(live=is_live)


def ready(is_ready: bool) -> pb.ServerReadyResponse:
    return pb.ServerReadyResponse(ready=is_ready)


def model_ready(is_ready: bool) -> pb.ModelReadyResponse:
    return pb.ModelReadyResponse(ready=is_ready)


def server_metadata(name: str, version: str) -> pb.ServerMetadataResponse:
    """Name and version; no extensions (none of Triton's is implemented over gRPC)."""
    return pb.ServerMetadataResponse(name=name, version=version, extensions=[])


def model_metadata(metadata: dict[str, Any]) -> pb.ModelMetadataResponse:
    """The data plane's model metadata as its message."""
    return pb.ModelMetadataResponse(**metadata)


def model_config(spec: ModelSpec, max_batch_size: int) -> pb.ModelConfigResponse:
    """The model as Triton's ModelConfig: a batching model (dims leave out the batch) of one input and its outputs.

    An output of one value per image (label, is_digit, ood_score) is shown as Triton shows one: dims [1],
    reshaped to [].
    """
    outputs = []
    for tensor in output_tensors(spec):
        dims = tensor.shape[1:]
        output = config_pb.ModelOutput(name=tensor.name, data_type=_data_type(tensor), dims=dims or [1])
        if not dims:
            output.reshape.shape[:] = []
            output.reshape.SetInParent()
        outputs.append(output)
    pixels = input_tensor(spec)
    config = config_pb.ModelConfig(
        name=spec.name,
        platform=PLATFORM,
        backend=BACKEND,
        max_batch_size=max_batch_size,
        input=[config_pb.ModelInput(name=pixels.name, data_type=_data_type(pixels), dims=pixels.shape[1:])],
        output=outputs,
    )
    return pb.ModelConfigResponse(config=config)


def _data_type(tensor: TensorSpec) -> str:
    return f"TYPE_{tensor.datatype}"


def message_size(message: Any) -> int:
    """A message's size in bytes, as it came over the wire (after decompression)."""
    size: int = message.ByteSize()
    return size


def decode_infer_request(
    request: pb.ModelInferRequest, spec: ModelSpec, budget: RequestBudget
) -> tuple[np.ndarray, list[str]]:
    """The checked pixels (float32 [N, H, W]) and the names of the outputs asked for (empty: all); InvalidInput
    otherwise, with the same checks as REST V2."""
    if len(request.inputs) != 1:
        raise InvalidInput(f"inputs must hold exactly one tensor, {spec.input_name!r}; got {len(request.inputs)}")
    tensor = request.inputs[0]
    checked = check_input(tensor.name, tensor.datatype, list(tensor.shape), spec, budget)
    where = checked.where
    if SHARED_MEMORY in tensor.parameters:
        raise InvalidInput(f"{where}: the shared memory extension is not supported")
    if request.raw_input_contents:
        if tensor.HasField("contents"):
            raise InvalidInput(f"{where}: has both raw_input_contents and contents; send one of them")
        if len(request.raw_input_contents) != 1:
            raise InvalidInput(
                f"raw_input_contents must hold one entry per input (1), got {len(request.raw_input_contents)}"
            )
        raw = request.raw_input_contents[0]
        if len(raw) != checked.nbytes:
            raise InvalidInput(
                f"{where}: raw_input_contents[0] must be {checked.nbytes} bytes for {checked.datatype} "
                f"{checked.shape}, got {len(raw)}"
            )
        pixels = checked.pixels(np.frombuffer(raw, dtype=checked.dtype), spec)
    else:
        field, numpy_type = CONTENTS[checked.datatype]
        misplaced = [name for name in ALL_CONTENTS if name != field and getattr(tensor.contents, name)]
        if misplaced:
            raise InvalidInput(
                f"{where}: {checked.datatype} values go in contents.{field}, not contents.{misplaced[0]}"
            )
        pixels = checked.typed_pixels(np.array(getattr(tensor.contents, field), dtype=numpy_type), spec)
    return pixels, _output_names(request, spec)


def _output_names(request: pb.ModelInferRequest, spec: ModelSpec) -> list[str]:
    for output in request.outputs:
        if "classification" in output.parameters:
            raise InvalidInput(
                f"output {quote(output.name)}: the classification extension is not supported; ask for 'label'"
            )
        if SHARED_MEMORY in output.parameters:
            raise InvalidInput(f"output {quote(output.name)}: the shared memory extension is not supported")
    return check_output_names([output.name for output in request.outputs], spec)


def infer_response(spec: ModelSpec, request_id: str, tensors: list[OutputTensor]) -> pb.ModelInferResponse:
    """The answer: model name, version and the request's id, each output's bytes in raw_output_contents."""
    response = pb.ModelInferResponse(model_name=spec.name, model_version=spec.version, id=request_id)
    for tensor in tensors:
        response.outputs.add(name=tensor.spec.name, datatype=tensor.spec.datatype, shape=tensor.values.shape)
        response.raw_output_contents.append(tensor.values.tobytes())
    return response
