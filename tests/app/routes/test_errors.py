"""Every row of the error table gets its 4xx with a detail naming the problem, and the service lives on."""

import base64
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import make_settings, png_bytes

MULTICLASS = "/predict/multiclass"
MULTILABEL = "/predict/multilabel"
DIGIT = [[0] * 28 for _ in range(28)]
CANVAS = [0] * 3136
BOUNDARY = "part-boundary"
FORM_PART = f"--{BOUNDARY}\r\nContent-Disposition: form-data; {{part}}\r\n\r\n{{value}}\r\n--{BOUNDARY}--\r\n"


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        (MULTICLASS, {}, "instances: field required"),
        (MULTICLASS, [], "JSON object"),
        (MULTICLASS, {"instances": []}, "instances: expected a non-empty list"),
        (MULTICLASS, {"instances": "x"}, "instances: expected a non-empty list"),
        (
            MULTICLASS,
            {"instances": [DIGIT, DIGIT, DIGIT, [0] * 783]},
            "instances[3]: expected 784 values or 28x28, got 783",
        ),
        (MULTICLASS, {"instances": [[[0] * 27] * 28]}, "instances[0]: expected 784 values or 28x28, got 28x27"),
        (
            MULTICLASS,
            {"instances": [[[0] * 28] * 27 + [[0] * 27]]},
            "instances[0]: expected 784 values or 28x28, got ragged",
        ),
        (MULTICLASS, {"instances": [["a"] * 784]}, "instances[0]: every value must be a number"),
        (MULTICLASS, {"instances": [[None] * 784]}, "instances[0]: every value must be a number"),
        (MULTICLASS, {"instances": [7]}, "instances[0]: expected 784 values or 28x28"),
        (MULTICLASS, {"instances": [[0] * 783 + [256]]}, "instances[0]: values must be from 0 to 255"),
        (MULTICLASS, {"instances": [DIGIT, [-1] * 784]}, "instances[1]: values must be from 0 to 255"),
        # Just past 255 (float32 would round it to 255), a string among nested rows, a one-value instance among
        # full ones, objects for numbers: pins for any faster conversion of the pixels.
        (MULTICLASS, {"instances": [[0] * 783 + [255.00000001]]}, "instances[0]: values must be from 0 to 255"),
        (MULTICLASS, {"instances": [DIGIT, [[0] * 28] * 27 + [[0] * 27 + ["1"]]]}, "instances[1]: every value"),
        (MULTICLASS, {"instances": [DIGIT, [0]]}, "instances[1]: expected 784 values or 28x28, got 1"),
        (MULTICLASS, {"instances": [[[0] * 28] * 28, DIGIT, [{}] * 784]}, "instances[2]: every value must be"),
        (MULTICLASS, {"instances": [DIGIT], "top_k": 0}, "top_k: expected an integer from 1 to 10"),
        (MULTICLASS, {"instances": [DIGIT], "top_k": 11}, "top_k"),
        (MULTICLASS, {"instances": [DIGIT], "top_k": "3"}, "top_k"),
        (MULTICLASS, {"instances": [DIGIT], "return_logits": "yes"}, "return_logits"),
        (MULTICLASS, {"instances": [DIGIT], "threshold": 0.5}, "threshold: not accepted by a multiclass model"),
        (MULTICLASS, {"instances": [{"b64": "%%%"}]}, "instances[0].b64: not valid base64"),
        (
            MULTICLASS,
            {"instances": [{"b64": base64.b64encode(b"not an image").decode()}]},
            "instances[0].b64: not a PNG or JPEG",
        ),
        (MULTICLASS, {"instances": [{"png": "x"}]}, 'instances[0]: expected {"b64"'),
        (MULTILABEL, {"instances": [DIGIT]}, "instances[0]: expected 3136 values or 56x56, got 28x28"),
        (MULTILABEL, {"instances": [CANVAS], "threshold": 0}, "threshold: expected one number in (0, 1)"),
        (MULTILABEL, {"instances": [CANVAS], "threshold": 1.5}, "threshold"),
        (MULTILABEL, {"instances": [CANVAS], "threshold": [0.5] * 9}, "threshold"),
        (MULTILABEL, {"instances": [CANVAS], "top_k": 3}, "top_k: not accepted by a multilabel model"),
    ],
)
def test_bad_json_bodies_get_422_naming_the_field(client: TestClient, path: str, body: object, detail: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    "raw", [b"{", b'{"instances": [NaN]}', b'{"instances": [[Infinity]]}', b'{"instances": [1e999]}', b""]
)
def test_malformed_json_nan_and_infinity_get_422(client: TestClient, raw: bytes) -> None:
    response = client.post(MULTICLASS, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


def test_too_many_instances_get_422_and_exactly_the_cap_passes(test_digits: tuple) -> None:
    uploads = [("file", (f"{i}.png", png_bytes(image), "image/png")) for i, image in enumerate(test_digits[0][:3])]
    three, two = {"instances": [DIGIT] * 3}, {"instances": [DIGIT] * 2}
    with TestClient(create_app(make_settings(max_instances=2))) as small:
        for over, at_cap in (
            (small.post(MULTICLASS, json=three), small.post(MULTICLASS, json=two)),
            (small.post(MULTICLASS, files=uploads), small.post(MULTICLASS, files=uploads[:2])),
        ):
            assert over.status_code == 422, over.text
            assert "at most 2 instances per request (MAX_INSTANCES), got 3" in over.json()["detail"]
            assert at_cap.status_code == 200, at_cap.text
            assert len(at_cap.json()["predictions"]) == 2
        far_over = small.post(MULTICLASS, files=uploads * 4)  # the form parser stops at the fourth file
        assert far_over.status_code == 422, far_over.text
        assert far_over.json()["detail"] == "file: at most 2 instances per request (MAX_INSTANCES), got more than 3"


def test_undecodable_upload_gets_422(client: TestClient) -> None:
    response = client.post(MULTICLASS, files={"file": ("x.png", b"\x89PNG broken", "image/png")})
    assert response.status_code == 422
    assert "file[0]" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (FORM_PART.format(part='name="image"; filename="x.png"', value="x"), "image: file parts must be named 'file'"),
        (FORM_PART.format(part='name="top_k"', value="3"), "file: at least one file part (PNG or JPEG) is required"),
    ],
    ids=["misnamed", "fields only"],
)
def test_upload_without_file_part_gets_422(client: TestClient, body: str, detail: str) -> None:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post(MULTICLASS, content=body.encode(), headers=headers)
    assert response.status_code == 422
    assert detail in response.json()["detail"]


def test_oversized_body_gets_413_from_content_length() -> None:
    with TestClient(create_app(make_settings(max_body_bytes=1000))) as small:
        response = small.post(MULTICLASS, json={"instances": [DIGIT]})
        assert response.status_code == 413
        assert "MAX_BODY_BYTES" in response.json()["detail"]


def test_oversized_streamed_body_gets_413_without_content_length() -> None:
    def chunks():  # a generator body is sent chunked, with no Content-Length
        for _ in range(100):
            yield b" " * 1000

    with TestClient(create_app(make_settings(max_body_bytes=10_000))) as small:
        response = small.post(MULTICLASS, content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert "MAX_BODY_BYTES" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_other_content_types_get_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(MULTICLASS, content=b'{"instances": []}', headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_unloaded_model_gets_503(models_dir: Path) -> None:
    shutil.rmtree(models_dir / "mnist-multilabel")
    with TestClient(create_app(make_settings(models_dir))) as partial:
        response = partial.post(MULTILABEL, json={"instances": [CANVAS]})
        assert response.status_code == 503
        assert "no multilabel model" in response.json()["detail"]
        assert partial.post(MULTICLASS, json={"instances": [DIGIT]}).status_code == 200


def test_service_still_answers_after_bad_input(client: TestClient, test_digits: tuple) -> None:
    for body in ({"instances": [[1e308] * 784]}, {"instances": [[[0] * 784]] * 3}, {"x": 1}):
        assert client.post(MULTICLASS, json=body).status_code == 422
    image, label = test_digits[0][0], test_digits[1][0]
    response = client.post(MULTICLASS, json={"instances": [image.tolist()]})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == label
    assert client.get("/healthz").status_code == 200
