"""The predict endpoints with the shipped models and real MNIST test digits."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64_png, png_bytes

MULTICLASS = "/predict/multiclass"
MULTILABEL = "/predict/multilabel"


def labels_of(response_json: dict) -> list[int]:
    return [prediction["label"] for prediction in response_json["predictions"]]


def test_500_real_digits_as_json_are_at_least_98_percent_right(
    client: TestClient, test_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = test_digits
    predictions = []
    for half in (images[:250], images[250:]):  # two requests: MAX_INSTANCES is 256
        response = client.post(MULTICLASS, json={"instances": half.tolist()})
        assert response.status_code == 200
        assert response.json()["model"]["name"] == "mnist-multiclass"
        predictions += response.json()["predictions"]
    assert np.mean(np.array([p["label"] for p in predictions]) == labels) >= 0.98
    for prediction in predictions:
        assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert prediction["probability"] == max(prediction["probabilities"])
        assert prediction["top_k"][0]["label"] == prediction["label"]
        assert len(prediction["top_k"]) == 3
        assert "logits" not in prediction


def test_flat_and_nested_images_give_the_same_answer(client: TestClient, test_digits: tuple) -> None:
    image = test_digits[0][0]
    nested = client.post(MULTICLASS, json={"instances": [image.tolist()]}).json()
    flat = client.post(MULTICLASS, json={"instances": [image.reshape(-1).tolist()]}).json()
    assert nested == flat


def test_probabilities_are_softmax_of_logits_over_temperature(client: TestClient, test_digits: tuple) -> None:
    body = client.post(
        MULTICLASS, json={"instances": test_digits[0][:4].tolist(), "return_logits": True, "top_k": 10}
    ).json()
    temperature = client.get("/models/mnist-multiclass").json()["temperature"]
    for prediction in body["predictions"]:
        logits = np.array(prediction["logits"], dtype=np.float64) / temperature
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        np.testing.assert_allclose(prediction["probabilities"], expected, rtol=1e-5, atol=1e-7)
        assert [entry["label"] for entry in prediction["top_k"]] == list(np.argsort(-expected, kind="stable"))


def test_each_prediction_says_whether_it_is_a_digit(client: TestClient, test_digits: tuple) -> None:
    digits = test_digits[0][:200]
    blank = np.stack([np.zeros((28, 28)), np.full((28, 28), 255)])
    noise = np.random.default_rng(0).integers(0, 256, size=(10, 28, 28))
    body = client.post(
        MULTICLASS, json={"instances": np.concatenate([digits, blank, noise]).tolist(), "return_logits": True}
    ).json()
    threshold = client.get("/models/mnist-multiclass").json()["ood"]["threshold"]
    predictions = body["predictions"]
    for prediction in predictions:
        logits = np.array(prediction["logits"], dtype=np.float64)
        assert prediction["ood_score"] == pytest.approx(-np.log(np.exp(logits).sum()), rel=1e-5, abs=1e-5)
        assert prediction["is_digit"] == (prediction["ood_score"] <= threshold)
        assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-5)  # the label still answers
    assert np.mean([p["is_digit"] for p in predictions[:200]]) >= 0.97
    assert not any(p["is_digit"] for p in predictions[200:])


def test_an_empty_upload_is_not_a_digit(client: TestClient) -> None:
    files = [("file", ("white.png", png_bytes(np.full((64, 64), 255)), "image/png"))]
    prediction = client.post(MULTICLASS, files=files).json()["predictions"][0]
    assert prediction["is_digit"] is False and isinstance(prediction["ood_score"], float)


def test_real_digits_as_png_uploads_and_b64(client: TestClient, test_digits: tuple) -> None:
    images, labels = test_digits[0][:40], test_digits[1][:40]
    files = [("file", (f"{i}.png", png_bytes(image), "image/png")) for i, image in enumerate(images)]
    uploaded = client.post(MULTICLASS, files=files, data={"top_k": "2"})
    assert uploaded.status_code == 200, uploaded.text
    assert len(uploaded.json()["predictions"][0]["top_k"]) == 2
    encoded = client.post(MULTICLASS, json={"instances": [b64_png(image, ink_on_white=True) for image in images]})
    assert encoded.status_code == 200, encoded.text
    for answer in (uploaded.json(), encoded.json()):
        assert np.mean(np.array(labels_of(answer)) == labels) >= 0.95


def test_multilabel_canvases_get_their_labels(client: TestClient, test_canvases: tuple) -> None:
    canvases, targets = test_canvases
    response = client.post(MULTILABEL, json={"instances": canvases.tolist()})
    assert response.status_code == 200
    body = response.json()
    assert body["model"]["name"] == "mnist-multilabel"
    flags = np.array([prediction["flags"] for prediction in body["predictions"]])
    assert np.mean((flags == targets.astype(bool)).all(axis=1)) >= 0.9
    for prediction in body["predictions"]:
        assert prediction["labels"] == [k for k, flag in enumerate(prediction["flags"]) if flag]
        assert all(0.0 <= p <= 1.0 for p in prediction["probabilities"])


def test_multilabel_threshold_overrides_the_model_thresholds(client: TestClient, test_canvases: tuple) -> None:
    canvas = test_canvases[0][:1].tolist()
    strict = client.post(MULTILABEL, json={"instances": canvas, "threshold": 0.999999}).json()["predictions"][0]
    loose = client.post(MULTILABEL, json={"instances": canvas, "threshold": [1e-6] * 10}).json()["predictions"][0]
    assert strict["probabilities"] == loose["probabilities"]
    assert loose["flags"] == [True] * 10
    assert strict["flags"] == [p >= 0.999999 for p in strict["probabilities"]]


def test_multilabel_b64_canvas_and_upload(client: TestClient, test_canvases: tuple) -> None:
    canvas, target = test_canvases[0][3], test_canvases[1][3]
    expected = [k for k in range(10) if target[k]]
    by_json = client.post(MULTILABEL, json={"instances": [b64_png(canvas)]}).json()
    by_file = client.post(MULTILABEL, files={"file": ("c.png", png_bytes(canvas, ink_on_white=True), "image/png")})
    assert by_json["predictions"][0]["labels"] == expected
    assert by_file.json()["predictions"][0]["labels"] == expected
