"""Open Inference Protocol, checked with the real Triton client against the service as a process."""

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from fastapi.testclient import TestClient
from tritonclient.utils import InferenceServerException

from app.main import create_app
from tests.app.conftest import make_settings

MULTICLASS, MULTILABEL = "mnist-multiclass", "mnist-multilabel"


@pytest.fixture(scope="module")
def triton_client(server: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.removeprefix("http://"))


def pixels_input(pixels: np.ndarray, binary: bool = True) -> triton.InferInput:
    tensor = triton.InferInput("pixels", list(pixels.shape), {np.float32: "FP32", np.uint8: "UINT8"}[pixels.dtype.type])
    tensor.set_data_from_numpy(pixels, binary_data=binary)
    return tensor


def test_health_and_metadata(triton_client: triton.InferenceServerClient) -> None:
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready(MULTICLASS)
    assert not triton_client.is_model_ready("mnist-letters")
    server = triton_client.get_server_metadata()
    assert "binary_tensor_data" in server["extensions"] and server["name"] and server["version"]
    metadata = triton_client.get_model_metadata(MULTILABEL)
    assert metadata["inputs"] == [{"name": "pixels", "datatype": "FP32", "shape": [-1, 56, 56]}]
    assert {output["name"]: output["datatype"] for output in metadata["outputs"]} == {
        "logits": "FP32",
        "probabilities": "FP32",
        "flags": "BOOL",
    }
    version = metadata["versions"][0]
    assert triton_client.get_model_metadata(MULTILABEL, model_version=version)["name"] == MULTILABEL
    assert triton_client.is_model_ready(MULTILABEL, model_version=version)
    with pytest.raises(InferenceServerException) as unknown_version:
        triton_client.get_model_metadata(MULTILABEL, model_version="999")
    assert unknown_version.value.status() == "404"


@pytest.mark.parametrize("binary", [True, False])
def test_infer_matches_predict_for_real_digits(
    triton_client: triton.InferenceServerClient, server: str, test_digits: tuple, binary: bool
) -> None:
    images, labels = test_digits[0][:32], test_digits[1][:32]
    outputs = [triton.InferRequestedOutput(name, binary_data=binary) for name in ("probabilities", "label", "logits")]
    result = triton_client.infer(
        MULTICLASS, [pixels_input(images.astype(np.float32), binary)], outputs=outputs, request_id="req-7"
    )
    assert result.get_response()["id"] == "req-7"
    assert [output["name"] for output in result.get_response()["outputs"]] == ["probabilities", "label", "logits"]
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (32, 10) and probabilities.dtype == np.float32
    assert np.mean(result.as_numpy("label") == labels) >= 0.95
    predicted = httpx.post(f"{server}/predict/multiclass", json={"instances": images.tolist()}).json()
    np.testing.assert_allclose(
        probabilities, [p["probabilities"] for p in predicted["predictions"]], rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("binary", [True, False], ids=["binary tensor", "JSON tensor"])
@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_a_compressed_request_gets_the_answer_of_the_uncompressed_one(
    triton_client: triton.InferenceServerClient, test_digits: tuple, algorithm: str, binary: bool
) -> None:
    images = test_digits[0][:16].astype(np.float32)

    def answer(compression: str | None) -> dict:
        outputs = [triton.InferRequestedOutput(name, binary_data=False) for name in ("probabilities", "label")]
        result = triton_client.infer(
            MULTICLASS, [pixels_input(images, binary)], outputs=outputs, request_compression_algorithm=compression
        )
        return result.get_response()

    plain = answer(None)
    assert np.mean(np.array(plain["outputs"][1]["data"]) == test_digits[1][:16]) >= 0.9  # real answers to compare
    assert answer(algorithm) == plain


def test_infer_multilabel_flags_with_uint8_and_all_outputs(
    triton_client: triton.InferenceServerClient, test_canvases: tuple
) -> None:
    canvases, targets = test_canvases[0][:20], test_canvases[1][:20]
    result = triton_client.infer(MULTILABEL, [pixels_input(canvases)])
    names = [output["name"] for output in result.get_response()["outputs"]]
    assert names == ["logits", "probabilities", "flags"]
    flags = result.as_numpy("flags")
    assert flags.dtype == np.bool_ and flags.shape == (20, 10)
    assert np.mean((flags == targets.astype(bool)).all(axis=1)) >= 0.85


def test_multiclass_metadata_and_infer_say_whether_it_is_a_digit(
    triton_client: triton.InferenceServerClient, server: str, test_digits: tuple
) -> None:
    outputs = {output["name"]: output for output in triton_client.get_model_metadata(MULTICLASS)["outputs"]}
    assert outputs["is_digit"] == {"name": "is_digit", "datatype": "BOOL", "shape": [-1]}
    assert outputs["ood_score"] == {"name": "ood_score", "datatype": "FP32", "shape": [-1]}
    noise = np.random.default_rng(0).integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    images = np.concatenate([test_digits[0][:8], np.zeros((1, 28, 28), np.uint8), noise])
    result = triton_client.infer(MULTICLASS, [pixels_input(images)])
    names = [output["name"] for output in result.get_response()["outputs"]]
    assert names == ["logits", "probabilities", "label", "is_digit", "ood_score"]
    is_digit, scores = result.as_numpy("is_digit"), result.as_numpy("ood_score")
    assert is_digit.dtype == np.bool_ and scores.dtype == np.float32 and scores.shape == (11,)
    assert is_digit.tolist() == [True] * 8 + [False] * 3
    predicted = httpx.post(f"{server}/predict/multiclass", json={"instances": images.tolist()}).json()["predictions"]
    assert [p["is_digit"] for p in predicted] == is_digit.tolist()
    np.testing.assert_allclose(scores, [p["ood_score"] for p in predicted], rtol=1e-6)


def test_bad_input_raises_inference_server_exception(triton_client: triton.InferenceServerClient) -> None:
    cases = [
        (MULTICLASS, pixels_input(np.zeros((1, 27, 28), np.float32)), "shape must be [N, 28, 28]"),
        (MULTICLASS, pixels_input(np.full((1, 28, 28), 300, np.float32)), "values must be from 0 to 255"),
        ("mnist-letters", pixels_input(np.zeros((1, 28, 28), np.float32)), "no model named 'mnist-letters'"),
    ]
    for model, tensor, message in cases:
        with pytest.raises(InferenceServerException) as raised:
            triton_client.infer(model, [tensor])
        assert message in raised.value.message()
        assert raised.value.status() == ("404" if model == "mnist-letters" else "400")
    wrong_name = triton.InferInput("image", [1, 28, 28], "FP32")
    wrong_name.set_data_from_numpy(np.zeros((1, 28, 28), np.float32))
    with pytest.raises(InferenceServerException, match="unknown input 'image'"):
        triton_client.infer(MULTICLASS, [wrong_name])
    with pytest.raises(InferenceServerException, match="unknown output 'scores'"):
        triton_client.infer(
            MULTICLASS,
            [pixels_input(np.zeros((1, 28, 28), np.float32))],
            outputs=[triton.InferRequestedOutput("scores")],
        )


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{", {}, "not valid JSON"),
        (b'{"inputs": []}', {}, "exactly one tensor"),
        (
            b'{"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "BYTES", "data": []}]}',
            {},
            "datatype 'BYTES'",
        ),
        (b'{"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": [1, 2]}]}', {}, "784 numbers"),
        (
            b'{"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", '
            b'"parameters": {"binary_data_size": 3136}}]}',
            {"Inference-Header-Content-Length": "100000"},
            "Inference-Header-Content-Length",
        ),
        (b"{}", {"Inference-Header-Content-Length": "9" * 5000}, "at most 18 digits"),
        (
            b'{"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": []}]}',
            {"Content-Encoding": "br"},
            "br",
        ),
    ],
)
def test_protocol_errors_are_400_with_an_error_body(
    client: TestClient, body: bytes, headers: dict, message: str
) -> None:
    response = client.post(f"/v2/models/{MULTICLASS}/infer", content=body, headers=headers)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_unknown_model_and_body_cap_follow_the_protocol(client: TestClient) -> None:
    missing = client.get("/v2/models/mnist-letters")
    assert missing.status_code == 404 and "mnist-letters" in missing.json()["error"]
    with TestClient(create_app(make_settings(max_body_bytes=100))) as small:
        response = small.post(f"/v2/models/{MULTICLASS}/infer", content=b" " * 1000)
        assert response.status_code == 413 and "MAX_BODY_BYTES" in response.json()["error"]


def test_not_ready_is_503() -> None:
    idle = TestClient(create_app(make_settings()))
    assert idle.get("/v2/health/live").status_code == 200
    assert idle.get("/v2/health/ready").status_code == 503
    assert idle.get(f"/v2/models/{MULTICLASS}/ready").status_code == 503
    infer = idle.post(f"/v2/models/{MULTICLASS}/infer", content=b"{}")
    assert infer.status_code == 503 and "not loaded" in infer.json()["error"]
