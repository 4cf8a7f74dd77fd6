"""`"explain": true` on /predict/multiclass with the shipped model and real MNIST test digits."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.explain import occlusion_masks
from app.core.images import decode_grayscale, to_mnist_digit
from tests.app.conftest import png_bytes, request_budget

MULTICLASS = "/predict/multiclass"


def test_json_explanations_follow_the_ink(client: TestClient, test_digits: tuple) -> None:
    images, labels = test_digits[0][:8], test_digits[1][:8]
    response = client.post(MULTICLASS, json={"instances": images.tolist(), "explain": True})
    assert response.status_code == 200, response.text
    masks = occlusion_masks((28, 28))
    for image, label, prediction in zip(images, labels, response.json()["predictions"], strict=True):
        assert prediction["label"] == label
        np.testing.assert_array_equal(prediction["input"], image)
        explanation = np.array(prediction["explanation"])
        assert explanation.shape == (28, 28)
        # Blanking a patch of background changes nothing: pixels only such patches cover score 0.
        blank_patches = ~(masks & (image > 0)).any(axis=(1, 2))
        only_blank = ~masks[~blank_patches].any(axis=0)
        assert only_blank.any()
        np.testing.assert_allclose(explanation[only_blank], 0, atol=1e-3)
        # The ink carries the answer: hiding it lowers the digit's probability.
        assert explanation[image > 0].mean() > 0
        assert explanation.max() <= prediction["probability"] + 1e-6


def test_explanation_is_the_mean_probability_drop_of_the_patches_over_each_pixel(
    client: TestClient, test_digits: tuple
) -> None:
    image = test_digits[0][7].astype(np.float32)
    explained = client.post(MULTICLASS, json={"instances": [image.tolist()], "explain": True}).json()["predictions"][0]
    masks = occlusion_masks((28, 28))
    occluded = [np.where(mask, 0, image).tolist() for mask in masks]
    answers = client.post(MULTICLASS, json={"instances": occluded}).json()["predictions"]
    drops = np.array([explained["probability"] - answer["probabilities"][explained["label"]] for answer in answers])
    expected = (drops[:, None, None] * masks).sum(axis=0) / masks.sum(axis=0)
    np.testing.assert_allclose(explained["explanation"], expected, atol=1e-5)


def test_upload_explained_returns_the_prepared_image(client: TestClient, test_digits: tuple) -> None:
    image, label = test_digits[0][18], test_digits[1][18]
    scan = png_bytes(np.kron(image, np.ones((4, 4))), ink_on_white=True)
    response = client.post(MULTICLASS, files={"file": ("scan.png", scan, "image/png")}, data={"explain": "true"})
    assert response.status_code == 200, response.text
    prediction = response.json()["predictions"][0]
    assert prediction["label"] == label
    np.testing.assert_allclose(
        prediction["input"], to_mnist_digit(decode_grayscale(scan, request_budget(), 28)), atol=1e-3
    )
    assert np.array(prediction["explanation"]).shape == (28, 28)


def test_no_explanation_unless_asked(client: TestClient, test_digits: tuple) -> None:
    prediction = client.post(MULTICLASS, json={"instances": test_digits[0][:1].tolist()}).json()["predictions"][0]
    assert "explanation" not in prediction and "input" not in prediction


def test_a_large_explained_batch_matches_single_images(client: TestClient, test_digits: tuple) -> None:
    images = test_digits[0][:20]  # an explained batch: each image's map is its own, whatever its neighbours
    batch = client.post(MULTICLASS, json={"instances": images.tolist(), "explain": True}).json()["predictions"]
    for image, prediction in zip(images[[0, 19]], (batch[0], batch[19]), strict=True):
        alone = client.post(MULTICLASS, json={"instances": [image.tolist()], "explain": True}).json()
        np.testing.assert_allclose(prediction["explanation"], alone["predictions"][0]["explanation"], atol=1e-4)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (MULTICLASS, {"explain": "yes"}, "explain: expected true or false, got 'yes'"),
        ("/predict/multilabel", {"explain": True}, "explain: not accepted by a multilabel model"),
    ],
)
def test_bad_explain_is_a_422(client: TestClient, path: str, body: dict, message: str) -> None:
    side = 28 if path == MULTICLASS else 56
    response = client.post(path, json={"instances": [[0] * side * side], **body})
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_openapi_documents_explain(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "explain" in schema["components"]["schemas"]["MulticlassRequest"]["properties"]
    assert {"explanation", "input"} <= set(schema["components"]["schemas"]["MulticlassPrediction"]["properties"])
    form = schema["paths"][MULTICLASS]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["explain"]["type"] == "boolean"
