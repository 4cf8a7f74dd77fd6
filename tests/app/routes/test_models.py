import json

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import SHIPPED_MODELS, make_settings


def test_models_lists_both_with_their_activation(client: TestClient) -> None:
    models = {model["name"]: model for model in client.get("/models").json()["models"]}
    assert models["mnist-multiclass"]["activation"] == "softmax"
    assert models["mnist-multilabel"]["activation"] == "sigmoid"


def test_model_metadata_has_what_a_caller_needs(client: TestClient) -> None:
    multiclass = client.get("/models/mnist-multiclass").json()
    card = json.loads((SHIPPED_MODELS / "mnist-multiclass" / "model.json").read_text())
    assert multiclass["task"] == "multiclass"
    assert multiclass["input"]["shape"] == [None, 28, 28]
    assert multiclass["labels"] == [str(digit) for digit in range(10)]
    assert multiclass["temperature"] == pytest.approx(card["temperature"]) and multiclass["version"] == card["version"]
    assert multiclass["metrics"]["accuracy"] >= 0.992
    multilabel = client.get("/models/mnist-multilabel").json()
    card = json.loads((SHIPPED_MODELS / "mnist-multilabel" / "model.json").read_text())
    assert multilabel["input"]["shape"] == [None, 56, 56]
    assert multilabel["thresholds"] == pytest.approx(card["thresholds"]) and len(card["thresholds"]) == 10
    assert multilabel["version"] == card["version"]


def test_unknown_model_gets_404(client: TestClient) -> None:
    response = client.get("/models/mnist-letters")
    assert response.status_code == 404
    assert "mnist-letters" in response.json()["detail"]


def test_healthz_and_readyz_before_and_after_loading() -> None:
    app = create_app(make_settings())
    idle = TestClient(app)  # not entered: the lifespan has not loaded the models
    assert idle.get("/healthz").status_code == 200
    assert idle.get("/readyz").status_code == 503
    assert idle.post("/predict/multiclass", json={"instances": [[0] * 784]}).status_code == 503
    with TestClient(app) as started:
        assert started.get("/readyz").json() == {"status": "ready"}


def test_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    client.post("/predict/multiclass", json={"instances": [[0] * 784, [0] * 784]})
    client.post("/predict/multiclass", json={"instances": [[0] * 783]})
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/predict/multiclass",status="200"}' in text
    assert 'http_requests_total{method="POST",route="/predict/multiclass",status="422"}' in text
    assert 'http_request_duration_seconds_bucket{le="0.001",route="/predict/multiclass"}' in text
    assert 'model_inference_duration_seconds_count{model="mnist-multiclass"}' in text
    assert 'predict_instances_per_request_bucket{le="2.0",model="mnist-multiclass"}' in text


def test_openapi_describes_every_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/predict/multiclass"]["post"]
    content = predict["requestBody"]["content"]
    assert content["application/json"]["schema"]["$ref"] == "#/components/schemas/MulticlassRequest"
    assert "file" in content["multipart/form-data"]["schema"]["properties"]
    components = schema["components"]["schemas"]
    assert {
        "MulticlassRequest",
        "MultilabelRequest",
        "MulticlassResponse",
        "MultilabelResponse",
        "EncodedImage",
    } <= set(components)
    assert "threshold" in components["MultilabelRequest"]["properties"]
    assert client.get("/docs").status_code == 200
