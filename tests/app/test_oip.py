"""The V2 codec on its own: binary and JSON tensors in, binary and JSON tensors out."""

import json
import re

import numpy as np
import pytest

from app.core import oip
from app.core.errors import InvalidInput
from app.core.oip import compute_outputs, encode_infer_response, parse_infer_request, select_outputs
from app.core.registry import ModelRegistry
from tests.app.conftest import SHIPPED_MODELS, request_budget


@pytest.fixture(scope="module")
def spec():
    registry = ModelRegistry(SHIPPED_MODELS, threads=1)
    registry.load()
    return registry.for_task("multiclass").spec


def binary_body(pixels: np.ndarray, datatype: str, extra: dict | None = None) -> tuple[bytes, int]:
    raw = pixels.tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "pixels",
                    "shape": list(pixels.shape),
                    "datatype": datatype,
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            **(extra or {}),
        }
    ).encode()
    return header + raw, len(header)


@pytest.mark.parametrize(
    ("dtype", "datatype"),
    [(np.float32, "FP32"), (np.float64, "FP64"), (np.uint8, "UINT8"), (np.int32, "INT32"), (np.int64, "INT64")],
)
def test_binary_inputs_of_every_datatype_become_float32_pixels(spec, dtype, datatype: str) -> None:
    pixels = np.arange(2 * 784).reshape(2, 28, 28) % 256
    body, length = binary_body(pixels.astype(dtype), datatype)
    request = parse_infer_request(body, length, spec, request_budget(max_instances=8))
    assert request.pixels.dtype == np.float32
    np.testing.assert_array_equal(request.pixels, pixels)


def test_json_data_may_be_nested_or_flat(spec) -> None:
    pixels = np.arange(784) % 256
    for shape, data in (([1, 784], pixels.tolist()), ([1, 28, 28], pixels.reshape(1, 28, 28).tolist())):
        body = json.dumps({"inputs": [{"name": "pixels", "shape": shape, "datatype": "INT64", "data": data}]}).encode()
        np.testing.assert_array_equal(
            parse_infer_request(body, None, spec, request_budget(max_instances=8)).pixels[0], pixels.reshape(28, 28)
        )


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        ("UINT8", [0] * 783 + [1.0], "UINT8 data must be whole numbers"),
        ("INT64", [0] * 783 + [2**70], "INT64 data must be whole numbers"),
        ("FP32", [0] * 783 + ["1"], "every value must be a number"),
        ("FP32", [0] * 783 + [None], "every value must be a number"),
        ("FP32", [0] * 783 + [255.00000001], "values must be from 0 to 255, got 0.0..255.00000001"),
        ("INT32", [0] * 783 + [300], "values must be from 0 to 255, got 0..300"),
        ("FP32", [0] * 782, "data must hold 784 numbers"),
        ("FP32", [[0] * 784, [0]], "data is ragged"),
    ],
)
def test_bad_json_data_gets_the_message_naming_its_problem(spec, datatype: str, data: list, message: str) -> None:
    body = json.dumps({"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": datatype, "data": data}]})
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse_infer_request(body.encode(), None, spec, request_budget(max_instances=8))


def test_binary_outputs_are_little_endian_bytes_after_the_json(spec) -> None:
    body, length = binary_body(
        np.zeros((3, 28, 28), np.float32), "FP32", {"parameters": {"binary_data_output": True}, "id": "x"}
    )
    request = parse_infer_request(body, length, spec, request_budget(max_instances=8))
    logits = np.random.default_rng(0).normal(size=(3, 10)).astype(np.float32)
    outputs = select_outputs(spec, compute_outputs(spec, logits), [output.name for output in request.outputs])
    content, header_length = encode_infer_response(spec, request, outputs)
    header = json.loads(content[:header_length])
    assert header["id"] == "x" and header["model_name"] == spec.name
    offset = header_length
    decoded = {}
    for output in header["outputs"]:
        size = output["parameters"]["binary_data_size"]
        dtype = {"FP32": "<f4", "INT64": "<i8", "BOOL": "?"}[output["datatype"]]
        decoded[output["name"]] = np.frombuffer(content[offset : offset + size], dtype=dtype).reshape(output["shape"])
        offset += size
    assert offset == len(content)
    np.testing.assert_array_equal(decoded["logits"], logits)
    np.testing.assert_array_equal(decoded["label"], logits.argmax(axis=1))
    np.testing.assert_allclose(decoded["probabilities"].sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(decoded["ood_score"], -np.log(np.exp(logits.astype(np.float64)).sum(axis=1)), rtol=1e-6)
    np.testing.assert_array_equal(decoded["is_digit"], decoded["ood_score"] <= spec.task.ood.threshold)


@pytest.mark.parametrize(
    ("header", "binary", "message"),
    [
        (
            {"inputs": [{"name": "pixels", "shape": [9, 784], "datatype": "FP32", "data": [0] * 9 * 784}]},
            b"",
            "at most 8",
        ),
        (
            {
                "inputs": [
                    {"name": "pixels", "shape": [1, 784], "datatype": "FP32", "parameters": {"binary_data_size": 100}}
                ]
            },
            b"\0" * 100,
            "binary_data_size must be 3136",
        ),
        (
            {
                "inputs": [
                    {"name": "pixels", "shape": [1, 784], "datatype": "FP32", "parameters": {"binary_data_size": 3136}}
                ]
            },
            b"\0" * 3000,
            "only 3000 binary bytes",
        ),
        (
            {
                "inputs": [
                    {"name": "pixels", "shape": [1, 784], "datatype": "UINT8", "parameters": {"binary_data_size": 784}}
                ]
            },
            b"\0" * 800,
            "binary data is 800 bytes",
        ),
        (
            {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": [float("nan")] * 784}]},
            b"",
            "not valid JSON",
        ),
        (
            {
                "inputs": [
                    {
                        "name": "pixels",
                        "shape": [1, 784],
                        "datatype": "FP32",
                        "data": [0] * 784,
                        "parameters": {"shared_memory_region": "r"},
                    }
                ]
            },
            b"",
            "shared memory",
        ),
        (
            {
                "inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": [0] * 784}],
                "outputs": [{"name": "label", "parameters": {"classification": 3}}],
            },
            b"",
            "classification extension",
        ),
    ],
)
def test_bad_requests_name_the_problem(spec, header: dict, binary: bytes, message: str) -> None:
    text = json.dumps(header).encode()
    with pytest.raises(InvalidInput, match=message):
        parse_infer_request(text + binary, len(text) if binary else None, spec, request_budget(max_instances=8))


def general_reading(body: bytes, spec, monkeypatch: pytest.MonkeyPatch) -> object:
    """parse_infer_request with orjson reading every header: the request, or the InvalidInput message."""
    with monkeypatch.context() as patched:
        patched.setattr(oip, "_header_with_plain_data", lambda text: None)
        try:
            return parse_infer_request(body, None, spec, request_budget(max_instances=8))
        except InvalidInput as error:
            return error.detail


def tensor_body(data: object, datatype: str = "FP32", shape: list | None = None, **extra: object) -> bytes:
    tensor = {"name": "pixels", "shape": shape or [1, 784], "datatype": datatype, "data": data}
    return json.dumps({"inputs": [tensor], **extra}).encode()


PLAIN = [3] * 783 + [255]


@pytest.mark.parametrize(
    "body",
    [
        tensor_body(PLAIN),
        tensor_body(
            [0.5] * 784, "FP64", id="[a]", outputs=[{"name": "label"}], parameters={"binary_data_output": True}
        ),
        tensor_body(PLAIN * 2, "UINT8", [2, 28, 28]),
        tensor_body(PLAIN, "INT64"),
    ],
)
def test_usual_json_tensors_are_read_by_simdjson_as_orjson_reads_them(spec, body: bytes, monkeypatch) -> None:
    assert oip._header_with_plain_data(body) is not None
    fast, general = parse_infer_request(body, None, spec, request_budget()), general_reading(body, spec, monkeypatch)
    assert not isinstance(general, str)
    np.testing.assert_array_equal(fast.pixels, general.pixels)
    assert fast.pixels.dtype == np.float32 and (fast.id, fast.outputs) == (general.id, general.outputs)


@pytest.mark.parametrize(
    "body",
    [
        tensor_body([*PLAIN[:-1], [5]]),  # one value nested a level deeper: flattened, the same count
        tensor_body([PLAIN[:392], PLAIN[392:]]),  # nested data is read by orjson (and may be ragged there)
        tensor_body([*PLAIN[:-1], 1.5], "UINT8"),
        tensor_body([*PLAIN[:-1], True]),
        tensor_body([*PLAIN[:-1], None]),
        tensor_body([*PLAIN[:-1], "7"]),
        tensor_body(PLAIN, "BF16"),
        tensor_body([*PLAIN[:-1], 2.0], "INT32"),
        tensor_body(PLAIN, id="\\u005b"),  # an escape could hide a [
        tensor_body(PLAIN)[:-1] + b', "id": "x", "id": "y"}',
        b'{"inputs": [{"name": "pixels", "data": [1], "data": [2], "shape": [1, 784], "datatype": "FP32"}]}',
        b"[1, 2]",
    ],
)
def test_other_json_tensors_are_left_to_orjson(body: bytes) -> None:
    assert oip._header_with_plain_data(body) is None
