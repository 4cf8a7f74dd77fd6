"""Open Inference Protocol (V2) REST codec with the binary tensor data extension. No HTTP here.

A request body is a JSON header, optionally followed by raw little-endian tensor bytes when the
`Inference-Header-Content-Length` header says where the JSON ends. Answers are the same shape.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import simdjson

from app.core.budgets import RequestBudget
from app.core.errors import InvalidInput, quote
from app.core.inputs import (
    SIMDJSON_ERRORS,
    check_pixels,
    load_json,
    may_hold_booleans,
    python_value,
    reject_booleans,
    simdjson_parser,
)
from app.core.registry import ModelSpec
from app.core.tasks import TensorSpec

INPUT_DATATYPES: dict[str, np.dtype] = {
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "UINT8": np.dtype("u1"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
}
OUTPUT_DATATYPES: dict[str, np.dtype] = {"FP32": np.dtype("<f4"), "INT64": np.dtype("<i8"), "BOOL": np.dtype("?")}


def input_tensor(spec: ModelSpec) -> TensorSpec:
    return TensorSpec(spec.input_name, "FP32", [-1, *spec.image_shape])


def output_tensors(spec: ModelSpec) -> list[TensorSpec]:
    """logits and probabilities for every task, then the task's answers (label, is_digit, ood_score; or flags)."""
    labels = len(spec.labels)
    return [
        TensorSpec("logits", "FP32", [-1, labels]),
        TensorSpec("probabilities", "FP32", [-1, labels]),
        *spec.task.answer_tensors(labels),
    ]


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool


@dataclass(frozen=True)
class InferRequest:
    """A checked V2 infer request: the pixels as float32 [N, H, W] and what to send back."""

    id: str | None
    pixels: np.ndarray
    outputs: list[RequestedOutput]


def parse_infer_request(body: bytes, header_length: int | None, spec: ModelSpec, budget: RequestBudget) -> InferRequest:
    """Decode and check a V2 infer body (JSON, or JSON + binary tensors); raise InvalidInput."""
    if header_length is not None and not 0 < header_length <= len(body):
        raise InvalidInput(f"Inference-Header-Content-Length {header_length} does not fit a body of {len(body)} bytes")
    split = len(body) if header_length is None else header_length
    header_text = body[:split]
    budget.admit_json(header_text, *spec.image_shape, "request header")
    header = _header_with_plain_data(header_text)
    if header is None:
        header = load_json(header_text, "request header")
    if not isinstance(header, dict):
        raise InvalidInput("request must be a JSON object")
    request_id = header.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput("id must be a string")
    parameters = _parameters(header, "request")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise InvalidInput(f"inputs must be a list holding exactly one tensor, {spec.input_name!r}")
    pixels, used = _input_pixels(inputs[0], body[split:], spec, budget, may_hold_booleans(header_text))
    if used != len(body) - split:
        raise InvalidInput(f"binary data is {len(body) - split} bytes but the inputs use {used}")
    default_binary = parameters.get("binary_data_output", False)
    if not isinstance(default_binary, bool):
        raise InvalidInput("parameters.binary_data_output must be true or false")
    return InferRequest(request_id, pixels, _requested_outputs(header.get("outputs"), spec, default_binary))


def _header_with_plain_data(text: bytes) -> dict[str, Any] | None:
    """The usual JSON header, one input tensor whose `data` is a flat list of numbers of its datatype's kind, read
    by simdjson with `data` straight into an array (no Python object per number); None for any other header
    (or a bad one), which is then read by orjson and checked the general way.

    simdjson's as_buffer refuses anything but numbers of the kind asked (null, true, false, strings; fractions for
    the integer types) and flattens nested arrays: the `[` in the text must be those of the rest plus one, and
    a header with escapes (which could hide a `[`) is left to orjson.
    """
    if b"\\" in text:
        return None
    try:
        document = simdjson_parser().parse(text)
        if not isinstance(document, simdjson.Object):
            return None
        inputs = document.get("inputs")
        if not isinstance(inputs, simdjson.Array) or len(inputs) != 1 or not isinstance(inputs[0], simdjson.Object):
            return None
        tensor = inputs[0]
        data, datatype = tensor.get("data"), tensor.get("datatype")
        if not isinstance(data, simdjson.Array) or not isinstance(datatype, str) or datatype not in INPUT_DATATYPES:
            return None
        header = {key: python_value(document[key]) for key in document if key != "inputs"}
        plain = {key: python_value(tensor[key]) for key in tensor if key != "data"}
        whole = INPUT_DATATYPES[datatype].kind in "iu"
        values = np.frombuffer(data.as_buffer(of_type="i" if whole else "d"), dtype=np.int64 if whole else np.float64)
    except SIMDJSON_ERRORS:
        return None
    if len(header) + 1 != len(document) or len(plain) + 1 != len(tensor):  # a key given twice
        return None
    if text.count(b"[") != _brackets(header) + _brackets(plain) + 2:  # the inputs list and the data
        return None
    return header | {"inputs": [plain | {"data": values}]}


def _brackets(value: Any) -> int:
    """How many `[` the JSON text of a value holds (escapes aside)."""
    if isinstance(value, list):
        return 1 + sum(_brackets(item) for item in value)
    if isinstance(value, dict):
        return sum(key.count("[") + _brackets(item) for key, item in value.items())
    return value.count("[") if isinstance(value, str) else 0


def _parameters(entry: dict[str, Any], where: str) -> dict[str, Any]:
    parameters = entry.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidInput(f"{where} parameters must be an object")
    if "shared_memory_region" in parameters:
        raise InvalidInput(f"{where}: the shared memory extension is not supported")
    return parameters


def _input_pixels(
    tensor: Any, binary: bytes, spec: ModelSpec, budget: RequestBudget, check_booleans: bool
) -> tuple[np.ndarray, int]:
    """The input tensor as float32 [N, H, W], and how many binary bytes it used."""
    if not isinstance(tensor, dict):
        raise InvalidInput("inputs[0] must be an object")
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    checked = check_input(name, datatype, shape, spec, budget)
    where = checked.where
    binary_size = _parameters(tensor, where).get("binary_data_size")
    if binary_size is not None:
        if "data" in tensor:
            raise InvalidInput(f"{where}: has both data and binary_data_size")
        if type(binary_size) is not int or binary_size != checked.nbytes:
            raise InvalidInput(f"{where}: binary_data_size must be {checked.nbytes} for {datatype} {shape}")
        if binary_size > len(binary):
            raise InvalidInput(f"{where}: binary_data_size {binary_size} but only {len(binary)} binary bytes follow")
        return checked.pixels(np.frombuffer(binary, dtype=checked.dtype, count=checked.count), spec), binary_size
    data = tensor.get("data")
    if check_booleans:
        reject_booleans(data, f"{where}.data")
    try:
        values = np.asarray(data)
    except ValueError:
        raise InvalidInput(f"{where}: data is ragged") from None
    return checked.typed_pixels(values, spec), 0


@dataclass(frozen=True)
class CheckedInput:
    """An input tensor whose name, datatype and shape passed check_input; its values are checked next."""

    where: str
    """How errors name it."""
    datatype: str
    shape: list[int]
    count: int
    """How many values its shape holds."""

    @property
    def dtype(self) -> np.dtype:
        return INPUT_DATATYPES[self.datatype]

    @property
    def nbytes(self) -> int:
        """Its size as raw little-endian bytes."""
        return self.count * self.dtype.itemsize

    def typed_pixels(self, values: np.ndarray, spec: ModelSpec) -> np.ndarray:
        """Typed values (JSON `data`, gRPC `contents`) as float32 [N, H, W]."""
        if self.dtype.kind in "iu" and values.dtype.kind not in "iu":
            raise InvalidInput(f"{self.where}: {self.datatype} data must be whole numbers")
        return self.pixels(values, spec)

    def pixels(self, values: np.ndarray, spec: ModelSpec) -> np.ndarray:
        """The values as float32 [N, H, W]: as many as the shape says, each a pixel (0..255)."""
        if values.size != self.count:
            raise InvalidInput(f"{self.where}: data must hold {self.count} numbers for shape {self.shape}")
        check_pixels(values, self.where)
        return values.reshape(self.shape[0], *spec.image_shape).astype(np.float32)


def check_input(name: Any, datatype: Any, shape: Any, spec: ModelSpec, budget: RequestBudget) -> CheckedInput:
    """Check an input tensor's name, datatype and shape, whatever the transport."""
    if name != spec.input_name:
        raise InvalidInput(f"unknown input {quote(name)}: this model's input is {spec.input_name!r}")
    where = f"input {name!r}"
    if not isinstance(datatype, str) or datatype not in INPUT_DATATYPES:
        raise InvalidInput(
            f"{where}: datatype {quote(datatype)} is not supported (use one of {', '.join(INPUT_DATATYPES)})"
        )
    height, width = spec.image_shape
    if (
        not isinstance(shape, list)
        or not all(type(side) is int for side in shape)
        or shape[1:] not in ([height, width], [height * width])
        or shape[0] < 1
    ):
        raise InvalidInput(
            f"{where}: shape must be [N, {height}, {width}] or [N, {height * width}], got {quote(shape)}"
        )
    budget.admit_instances(shape[0], where)
    return CheckedInput(where, datatype, shape, shape[0] * height * width)


def _requested_outputs(outputs: Any, spec: ModelSpec, default_binary: bool) -> list[RequestedOutput]:
    if outputs is None:
        return [RequestedOutput(tensor.name, default_binary) for tensor in output_tensors(spec)]
    if not isinstance(outputs, list) or not outputs:
        raise InvalidInput("outputs must be a non-empty list when given")
    names = check_output_names([entry.get("name") if isinstance(entry, dict) else None for entry in outputs], spec)
    requested: list[RequestedOutput] = []
    for name, entry in zip(names, outputs, strict=True):
        parameters = _parameters(entry, f"output {name!r}")
        if "classification" in parameters:
            raise InvalidInput(f"output {name!r}: the classification extension is not supported; ask for 'label'")
        binary = parameters.get("binary_data", default_binary)
        if not isinstance(binary, bool):
            raise InvalidInput(f"output {name!r}: parameters.binary_data must be true or false")
        requested.append(RequestedOutput(name, binary))
    return requested


def check_output_names(names: list[Any], spec: ModelSpec) -> list[str]:
    """Requested output names (any transport), each one of the model's and named once."""
    available = [tensor.name for tensor in output_tensors(spec)]
    for index, name in enumerate(names):
        if name not in available:
            raise InvalidInput(f"unknown output {quote(name)}: this model has {', '.join(available)}")
        if name in names[:index]:
            raise InvalidInput(f"output {name!r} is named twice")
    return names


def compute_outputs(spec: ModelSpec, logits: np.ndarray) -> dict[str, np.ndarray]:
    """Every output tensor from the logits, with the same activation as /predict."""
    probabilities = spec.task.probabilities(logits)
    return {"logits": logits, "probabilities": probabilities, **spec.task.answers(probabilities, logits)}


@dataclass(frozen=True)
class OutputTensor:
    """One answer tensor: its metadata and its values, contiguous in the protocol's datatype."""

    spec: TensorSpec
    values: np.ndarray


def select_outputs(spec: ModelSpec, tensors: dict[str, np.ndarray], names: list[str]) -> list[OutputTensor]:
    """The named outputs (all when none are named), in that order, each in its datatype."""
    specs = {tensor.name: tensor for tensor in output_tensors(spec)}
    return [
        OutputTensor(specs[name], np.ascontiguousarray(tensors[name], dtype=OUTPUT_DATATYPES[specs[name].datatype]))
        for name in names or specs
    ]


def encode_infer_response(
    spec: ModelSpec, request: InferRequest, tensors: list[OutputTensor]
) -> tuple[bytes, int | None]:
    """The response body (the outputs of select_outputs, in the request's order), and the JSON header length when
    binary outputs follow it."""
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for requested, tensor in zip(request.outputs, tensors, strict=True):
        values = tensor.values
        entry: dict[str, Any] = {"name": requested.name, "datatype": tensor.spec.datatype, "shape": list(values.shape)}
        if requested.binary:
            chunk = values.tobytes()
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = values.reshape(-1)
        outputs.append(entry)
    response: dict[str, Any] = {"model_name": spec.name, "model_version": spec.version, "outputs": outputs}
    if request.id is not None:
        response["id"] = request.id
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)
