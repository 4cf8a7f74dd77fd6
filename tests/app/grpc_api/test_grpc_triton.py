"""The Open Inference Protocol over gRPC, checked with Triton's own gRPC client against the service as a process.

tritonclient[grpc] pins protobuf 6 and brings `inference.*` stubs of its own, so it runs in .venv-triton
(`make test` builds it and sets TRITON_PYTHON) as a child process: see triton_client.py.
"""

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.app.grpc_api.conftest import Service, assert_same_outputs, rest_v2, run_client, start_grpc_service

CLIENT = Path(__file__).with_name("triton_client.py")
MULTICLASS, MULTILABEL = "mnist-multiclass", "mnist-multilabel"
OUTPUTS = {
    MULTICLASS: ["logits", "probabilities", "label", "is_digit", "ood_score"],
    MULTILABEL: ["logits", "probabilities", "flags"],
}

pytestmark = pytest.mark.skipif("TRITON_PYTHON" not in os.environ, reason="tritonclient[grpc] runs through `make test`")


def triton(command: str, service: Service, **arguments: Any) -> dict[str, Any]:
    return run_client("TRITON_PYTHON", CLIENT, command, url=service.target, **arguments)


def saved(tmp_path: Path, pixels: np.ndarray) -> str:
    path = tmp_path / "pixels.npy"
    np.save(path, pixels)
    return str(path)


def test_health_metadata_and_config(grpc_service: Service) -> None:
    answer = triton("health", grpc_service, model=MULTICLASS)
    assert answer["live"] and answer["ready"] and answer["model_ready"] and answer["version_ready"]
    assert answer["server"]["name"] == "digit-inference-service" and answer["server"]["version"]
    assert not answer["server"].get("extensions")  # none of Triton's extensions is implemented over gRPC
    metadata = answer["metadata"]
    assert metadata["name"] == MULTICLASS and metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "pixels", "datatype": "FP32", "shape": ["-1", "28", "28"]}]
    assert [output["name"] for output in metadata["outputs"]] == OUTPUTS[MULTICLASS]
    config = answer["config"]
    assert config["name"] == MULTICLASS and config["max_batch_size"] == 256
    assert config["input"] == [{"name": "pixels", "data_type": "TYPE_FP32", "dims": ["28", "28"]}]
    assert [output["name"] for output in config["output"]] == OUTPUTS[MULTICLASS]
    assert answer["unknown_model"]["error"]["code"] == "NOT_FOUND"
    assert answer["unknown_version"]["error"]["code"] == "NOT_FOUND"
    assert answer["unknown_config"]["error"]["code"] == "NOT_FOUND"
    assert answer["statistics"]["error"]["code"] == "UNIMPLEMENTED"


@pytest.mark.parametrize("datatype", ["UINT8", "FP32"])
@pytest.mark.parametrize("model", [MULTICLASS, MULTILABEL])
def test_both_models_answer_as_rest_v2_does(
    grpc_service: Service, test_digits: tuple, test_canvases: tuple, tmp_path: Path, model: str, datatype: str
) -> None:
    pixels = test_digits[0][:32] if model == MULTICLASS else test_canvases[0][:16]
    answer = triton("infer", grpc_service, model=model, pixels=saved(tmp_path, pixels), datatype=datatype, id="req-7")
    assert (answer["model_name"], answer["model_version"], answer["id"]) == (model, "1.0.0", "req-7")
    assert answer["names"] == OUTPUTS[model]
    assert answer["datatypes"]["probabilities"] == "FP32"
    assert_same_outputs(answer["outputs"], rest_v2(grpc_service, model, pixels, datatype))
    if model == MULTICLASS:
        assert np.mean(np.array(answer["outputs"]["label"]) == test_digits[1][:32]) >= 0.95
        assert all(answer["outputs"]["is_digit"])


def test_requested_outputs_come_back_alone_and_in_the_order_asked(
    grpc_service: Service, test_digits: tuple, tmp_path: Path
) -> None:
    answer = triton(
        "infer", grpc_service, model=MULTICLASS, pixels=saved(tmp_path, test_digits[0][:4]), datatype="UINT8",
        outputs=["ood_score", "label"],
    )  # fmt: skip
    assert answer["names"] == ["ood_score", "label"]
    assert answer["outputs"]["label"] == test_digits[1][:4].tolist()


def test_a_gzip_compressed_call_gets_the_answer_of_the_plain_one(
    grpc_service: Service, test_digits: tuple, tmp_path: Path
) -> None:
    pixels = saved(tmp_path, test_digits[0][:64])
    plain = triton("infer", grpc_service, model=MULTICLASS, pixels=pixels, datatype="FP32")
    compressed = triton("infer", grpc_service, model=MULTICLASS, pixels=pixels, datatype="FP32", compression="gzip")
    assert compressed["outputs"] == plain["outputs"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"model": "mnist-letters"}, "NOT_FOUND"),
        ({"version": "999"}, "NOT_FOUND"),
        ({"input": "image"}, "INVALID_ARGUMENT"),
        ({"datatype": "INT8"}, "INVALID_ARGUMENT"),
        ({"shape": (1, 27, 28)}, "INVALID_ARGUMENT"),
        ({"scale": 300.0}, "INVALID_ARGUMENT"),
        ({"outputs": ["softmax"]}, "INVALID_ARGUMENT"),
        ({"outputs": ["label", "label"]}, "INVALID_ARGUMENT"),
        ({"images": 257}, "INVALID_ARGUMENT"),  # MAX_INSTANCES
        ({"images": 256, "datatype": "FP64"}, "RESOURCE_EXHAUSTED"),  # 1.6 MB, over MAX_BODY_BYTES
        ({"images": 256, "datatype": "FP64", "compression": "gzip"}, "RESOURCE_EXHAUSTED"),  # capped inflated
    ],
    ids=lambda value: str(value),
)
def test_bad_calls_get_the_status_code_that_says_why(
    grpc_service: Service, tmp_path: Path, change: dict[str, Any], code: str
) -> None:
    shape = change.pop("shape", (change.pop("images", 1), 28, 28))
    pixels = np.ones(shape, dtype=np.float32) * change.pop("scale", 1.0)
    arguments = {"model": MULTICLASS, "datatype": "FP32", **change}
    answer = triton("infer", grpc_service, pixels=saved(tmp_path, pixels), **arguments)
    assert answer["error"]["code"] == code, answer
    assert "Traceback" not in answer["error"]["message"]


ONE_IMAGE = np.arange(784, dtype=np.uint8).reshape(1, 28, 28) % 200


@pytest.mark.parametrize(
    ("request_parts", "code"),
    [
        ({"datatype": "UINT8", "contents": {"uint_contents": ONE_IMAGE.ravel().tolist()}}, None),
        ({"datatype": "FP32", "contents": {"fp32_contents": ONE_IMAGE.ravel().tolist()}}, None),
        ({"datatype": "INT64", "contents": {"int64_contents": ONE_IMAGE.ravel().tolist()}}, None),
        ({"datatype": "UINT8", "raw": ONE_IMAGE.tobytes().hex()}, None),
        (
            {"datatype": "UINT8", "raw": ONE_IMAGE.tobytes().hex(), "contents": {"uint_contents": [1]}},
            "INVALID_ARGUMENT",
        ),
        ({"datatype": "UINT8", "contents": {"fp32_contents": ONE_IMAGE.ravel().tolist()}}, "INVALID_ARGUMENT"),
        ({"datatype": "UINT8", "contents": {"uint_contents": [300] * 784}}, "INVALID_ARGUMENT"),
        ({"datatype": "UINT8", "contents": {"uint_contents": [1] * 783}}, "INVALID_ARGUMENT"),
        ({"datatype": "UINT8", "raw": ONE_IMAGE.tobytes()[:-1].hex()}, "INVALID_ARGUMENT"),
        ({"datatype": "FP32", "raw": np.full(784, np.nan, dtype="<f4").tobytes().hex()}, "INVALID_ARGUMENT"),
    ],
    ids=["uint", "fp32", "int64", "raw", "mixed", "misplaced", "over 255", "too few", "raw too short", "NaN"],
)
def test_typed_and_raw_inputs_give_one_answer_and_never_mixed(
    grpc_service: Service, request_parts: dict[str, Any], code: str | None
) -> None:
    answer = triton("raw_infer", grpc_service, model=MULTICLASS, shape=[1, 28, 28], **request_parts)
    if code is not None:
        assert answer["error"]["code"] == code, answer
        return
    assert answer["names"] == OUTPUTS[MULTICLASS]
    expected = rest_v2(grpc_service, MULTICLASS, ONE_IMAGE, "UINT8")["probabilities"]
    np.testing.assert_allclose(answer["probabilities"], expected.ravel(), rtol=1e-6, atol=1e-7)


def test_200_calls_on_16_threads_all_get_their_own_answer(
    grpc_service: Service, test_digits: tuple, tmp_path: Path
) -> None:
    images = test_digits[0][:50]
    answer = triton("load", grpc_service, model=MULTICLASS, pixels=saved(tmp_path, images), calls=200, threads=16)
    rest = rest_v2(grpc_service, MULTICLASS, images, "UINT8")["label"]
    assert answer["labels"] == [int(rest[index % 50]) for index in range(200)]


def test_api_keys_are_asked_of_every_call_but_health(test_digits: tuple, tmp_path: Path) -> None:
    service = start_grpc_service(API_KEY="grpc-secret-for-tests")
    try:
        pixels = saved(tmp_path, test_digits[0][:2])
        refused = triton("infer", service, model=MULTICLASS, pixels=pixels, datatype="UINT8")
        assert refused["error"]["code"] == "UNAUTHENTICATED"
        wrong = triton("infer", service, model=MULTICLASS, pixels=pixels, datatype="UINT8", key="guess")
        assert wrong["error"]["code"] == "UNAUTHENTICATED"
        answer = triton(
            "infer", service, model=MULTICLASS, pixels=pixels, datatype="UINT8", key="grpc-secret-for-tests"
        )
        assert answer["outputs"]["label"] == test_digits[1][:2].tolist()
        assert triton("health", service, model=MULTICLASS, key="grpc-secret-for-tests")["ready"]
    finally:
        service.process.terminate()
        service.process.wait(timeout=30)
