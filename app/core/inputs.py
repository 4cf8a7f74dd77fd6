"""Validates request bodies into a pixel batch and options, with numpy rather than per-value pydantic."""

import base64
import binascii
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import simdjson

from app.core.budgets import RequestBudget
from app.core.errors import InvalidInput, clip, quote
from app.core.images import ImageError, decode_grayscale
from app.core.registry import ModelSpec
from app.core.tasks import DEFAULT_TOP_K, PredictOptions

PIXEL_MAX = 255.0
NUMERIC_KINDS = "iuf"
PIXEL_NESTING = 3
MAX_DIGITS = 18
"""The longest whole number read from a header: past every limit here, far below int()'s 4,300 digits."""


def prepare_image(data: bytes, spec: ModelSpec, budget: RequestBudget) -> np.ndarray:
    """Decoded image -> the model input its task expects (an MNIST-style digit, a resized canvas, ...)."""
    return spec.task.model_input(decode_grayscale(data, budget, max(spec.image_shape)), spec.image_shape)


def holds_images(body: bytes) -> bool:
    """True when a JSON predict body may hold encoded images (whose decoding belongs off the loop)."""
    return b'"b64"' in body


def parse_json_body(body: bytes, spec: ModelSpec, budget: RequestBudget) -> tuple[np.ndarray, PredictOptions]:
    """A JSON predict body -> float32 pixels [N, H, W] and the options."""
    budget.admit_json(body, *spec.image_shape, "body")
    plain = _plain_json_body(body, spec, budget)
    return plain if plain is not None else _json_body(body, spec, budget)


def _json_body(body: bytes, spec: ModelSpec, budget: RequestBudget) -> tuple[np.ndarray, PredictOptions]:
    """Any JSON predict body, read by orjson: images, booleans, wrong shapes and the rest get their message."""
    payload = load_json(body, "body")
    if not isinstance(payload, dict):
        raise InvalidInput("body must be a JSON object with an 'instances' list")
    if "instances" not in payload:
        raise InvalidInput("instances: field required")
    options = parse_options({key: value for key, value in payload.items() if key != "instances"}, spec)
    instances = payload["instances"]
    if may_hold_booleans(body):
        reject_booleans(instances, "instances")
    return instances_to_pixels(instances, spec, budget), options


_parsers = threading.local()
"""One simdjson parser per thread (a parser is not shared, and its document lives until its next parse)."""
SIMDJSON_ERRORS = (ValueError, TypeError, RuntimeError, KeyError, IndexError, InvalidInput)
"""What reading a body by simdjson may raise; the body is then read by orjson, whose errors name the problem."""


def _plain_json_body(body: bytes, spec: ModelSpec, budget: RequestBudget) -> tuple[np.ndarray, PredictOptions] | None:
    """The usual predict body, `{"instances": [...], options}` with every instance flat or in rows of numbers 0-255,
    read by simdjson straight into a float array: no Python object per number, several times faster than
    orjson + np.asarray. None for any other body (or a bad one), which parse_json_body then reads the general
    way, whose checks say what is wrong with it.

    simdjson's as_buffer refuses anything but numbers (strings, null, true, false) and flattens nested arrays;
    the length of each instance and row and the count of `[` in the body make sure none was nested deeper.
    """
    try:
        payload = simdjson_parser().parse(body)
        if not isinstance(payload, simdjson.Object):
            return None
        keys = list(payload.keys())
        if "instances" not in keys or len(set(keys)) != len(keys):
            return None
        raw_options = {key: python_value(payload[key]) for key in keys if key != "instances"}
        options = parse_options(raw_options, spec)
        instances = payload["instances"]
        if not isinstance(instances, simdjson.Array) or not len(instances):
            return None
        budget.admit_instances(len(instances), "instances")
        height, width = spec.image_shape
        brackets = 2 if isinstance(raw_options.get("threshold"), list) else 1
        chunks = []
        for instance in instances:
            if not isinstance(instance, simdjson.Array):
                return None
            if len(instance) == height:
                if not all(isinstance(row, simdjson.Array) and len(row) == width for row in instance):
                    return None
                brackets += height
            elif len(instance) != height * width:
                return None
            brackets += 1
            chunks.append(instance.as_buffer(of_type="d"))
        if body.count(b"[") != brackets:
            return None
        values = np.frombuffer(chunks[0] if len(chunks) == 1 else b"".join(chunks), dtype=np.float64)
    except SIMDJSON_ERRORS:
        return None
    if values.size != len(chunks) * height * width or values.min() < 0 or values.max() > PIXEL_MAX:
        return None
    return values.reshape(len(chunks), height, width).astype(np.float32), options


def simdjson_parser() -> simdjson.Parser:
    """This thread's simdjson parser."""
    parser: simdjson.Parser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = simdjson.Parser()
    return parser


def python_value(value: Any) -> Any:
    """A simdjson value as Python objects."""
    if isinstance(value, simdjson.Array):
        return value.as_list()
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    return value


def load_json(text: bytes | str, what: str) -> Any:
    """orjson.loads, with InvalidInput naming `what` (NaN and Infinity are not JSON)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"{what} is not valid JSON: {error}") from None


def whole_number(text: str, what: str) -> int:
    """A header's decimal digits as an int; InvalidInput for anything else, or for more than MAX_DIGITS digits."""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        raise InvalidInput(f"{what} must be a whole number of at most {MAX_DIGITS} digits, got {quote(text)}")
    return int(text)


def may_hold_booleans(body: bytes) -> bool:
    """False when the JSON text has no true or false at all: the common case, decided without a walk."""
    return b"true" in body or b"false" in body


def reject_booleans(values: Any, where: str) -> None:
    """Raise InvalidInput naming the first list item of `values` that holds a boolean (booleans are not pixels).

    Pixels nest at most [N][H][W]: deeper lists are a wrong shape, refused later, and are not walked.
    """
    if type(values) is not list:
        return
    for index, value in enumerate(values):
        if _holds_boolean(value, PIXEL_NESTING - 1):
            raise InvalidInput(f"{where}[{index}]: booleans are not numbers")


def _holds_boolean(value: Any, levels: int) -> bool:
    if type(value) is bool:
        return True
    return levels > 0 and type(value) is list and any(_holds_boolean(item, levels - 1) for item in value)


def parse_form(
    images: Sequence[bytes], fields: Mapping[str, str], spec: ModelSpec, budget: RequestBudget
) -> tuple[np.ndarray, PredictOptions]:
    """Multipart `file` parts and form fields (each a JSON value) -> pixels and options."""
    if not images:
        raise InvalidInput("file: at least one file part (PNG or JPEG) is required")
    budget.admit_instances(len(images), "file")
    options = parse_options({key: load_json(text, f"{quote(key)} form field") for key, text in fields.items()}, spec)
    return np.stack([_decode(data, spec, budget, f"file[{index}]") for index, data in enumerate(images)]), options


def parse_options(values: Mapping[str, Any], spec: ModelSpec) -> PredictOptions:
    """Check the options the model's task accepts (top_k, explain, threshold, return_logits); refuse any other."""
    labels = len(spec.labels)
    if not values:
        return PredictOptions(top_k=min(DEFAULT_TOP_K, labels))
    allowed = spec.task.options
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidInput(
            f"{clip(unknown[0])}: not accepted by a {spec.task.name} model (accepted: {', '.join(sorted(allowed))})"
        )
    top_k = values.get("top_k", min(DEFAULT_TOP_K, labels))
    if type(top_k) is not int or not 1 <= top_k <= labels:
        raise InvalidInput(f"top_k: expected an integer from 1 to {labels}, got {quote(top_k)}")
    threshold = _parse_threshold(values["threshold"], labels) if "threshold" in values else None
    return PredictOptions(
        top_k=top_k,
        return_logits=_flag(values, "return_logits"),
        threshold=threshold,
        explain=_flag(values, "explain"),
    )


def _flag(values: Mapping[str, Any], name: str) -> bool:
    value = values.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name}: expected true or false, got {quote(value)}")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_threshold(value: Any, labels: int) -> np.ndarray:
    wanted = f"one number in (0, 1) or a list of {labels} such numbers"
    if _is_number(value):
        value = [value] * labels
    if not isinstance(value, list) or len(value) != labels or not all(_is_number(item) for item in value):
        raise InvalidInput(f"threshold: expected {wanted}, got {quote(value)}")
    thresholds = np.asarray(value, dtype=np.float32)
    if not np.all((thresholds > 0) & (thresholds < 1)):
        raise InvalidInput(f"threshold: expected {wanted}, got {quote(value)}")
    return thresholds


def instances_to_pixels(instances: Any, spec: ModelSpec, budget: RequestBudget) -> np.ndarray:
    """The `instances` list -> float32 [N, H, W]; errors name the instance and what was expected."""
    if not isinstance(instances, list) or not instances:
        raise InvalidInput("instances: expected a non-empty list of images")
    budget.admit_instances(len(instances), "instances")
    height, width = spec.image_shape
    if all(type(instance) is list for instance in instances):
        try:
            batch = np.asarray(instances)
        except ValueError:  # ragged: the per-instance path says which one
            batch = None
        if (
            batch is not None
            and batch.dtype.kind in NUMERIC_KINDS
            and batch.shape[1:] in ((height * width,), (height, width))
            and batch.min() >= 0
            and batch.max() <= PIXEL_MAX
        ):
            return batch.reshape(len(instances), height, width).astype(np.float32, copy=False)
    return np.stack([_instance_pixels(instance, index, spec, budget) for index, instance in enumerate(instances)])


def check_pixels(values: np.ndarray, where: str) -> None:
    """Raise InvalidInput unless every value is a number from 0 to 255 (NaN and infinity are not)."""
    if values.dtype.kind not in NUMERIC_KINDS:
        raise InvalidInput(f"{where}: every value must be a number from 0 to 255")
    if not (values.min() >= 0 and values.max() <= PIXEL_MAX):
        raise InvalidInput(f"{where}: values must be from 0 to 255, got {values.min()}..{values.max()}")


def _describe_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(side) for side in shape) if len(shape) != 1 else str(shape[0])


def _instance_pixels(instance: Any, index: int, spec: ModelSpec, budget: RequestBudget) -> np.ndarray:
    where = f"instances[{index}]"
    height, width = spec.image_shape
    expected = f"expected {height * width} values or {height}x{width}"
    if isinstance(instance, dict):
        encoded = instance.get("b64")
        if set(instance) != {"b64"} or not isinstance(encoded, str):
            raise InvalidInput(
                f'{where}: expected {{"b64": "<base64 PNG or JPEG>"}}, got keys {quote(sorted(instance))}'
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{where}.b64: not valid base64") from None
        return _decode(data, spec, budget, f"{where}.b64")
    if not isinstance(instance, list):
        raise InvalidInput(f'{where}: {expected} or {{"b64": ...}}, got {type(instance).__name__}')
    try:
        pixels = np.asarray(instance)
    except ValueError:
        raise InvalidInput(f"{where}: {expected}, got ragged nested lists") from None
    if pixels.shape not in ((height * width,), (height, width)):
        raise InvalidInput(f"{where}: {expected}, got {_describe_shape(pixels.shape)}")
    check_pixels(pixels, where)
    return pixels.reshape(height, width).astype(np.float32)


def _decode(data: bytes, spec: ModelSpec, budget: RequestBudget, where: str) -> np.ndarray:
    try:
        return prepare_image(data, spec, budget)
    except ImageError as error:
        raise InvalidInput(f"{where}: {error}") from None
