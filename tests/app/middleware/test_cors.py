"""CORS_ALLOW_ORIGINS: a page on an allowed origin calls /predict and V2 (preflight included, API keys on); other
origins get no CORS headers; unset, nothing changes."""

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import make_settings

ORIGIN = "https://digits.example"
KEY = "cors-key-for-tests-0123"
DIGIT = {"instances": [np.zeros((28, 28)).tolist()]}
V2_BODY = {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": "UINT8", "data": [0] * 784}]}
ROUTES = [("/predict/multiclass", DIGIT), ("/v2/models/mnist-multiclass/infer", V2_BODY)]


def _preflight(client: TestClient, path: str, origin: str = ORIGIN) -> dict[str, str]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, inference-header-content-length",
    }
    response = client.options(path, headers=headers)
    return {"status": str(response.status_code), **response.headers}


@pytest.fixture(scope="module")
def cors_client() -> Iterator[TestClient]:
    settings = make_settings(api_key=KEY, cors_allow_origins=f"{ORIGIN}, https://other.example")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_an_allowed_origin_gets_its_preflight_answered_and_can_read_the_answer(
    cors_client: TestClient, path: str, body: dict
) -> None:
    preflight = _preflight(cors_client, path)
    assert preflight["status"] == "200" and preflight["access-control-allow-origin"] == ORIGIN
    assert {"authorization", "content-type", "inference-header-content-length"} <= {
        header.strip().lower() for header in preflight["access-control-allow-headers"].split(",")
    }
    assert "POST" in preflight["access-control-allow-methods"]
    answer = cors_client.post(path, json=body, headers={"Origin": ORIGIN, "Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
    refused = cors_client.post(path, json=body, headers={"Origin": ORIGIN})  # the page can show the 401
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN


def test_another_origin_gets_no_cors_headers(cors_client: TestClient) -> None:
    preflight = _preflight(cors_client, "/predict/multiclass", "https://evil.example")
    assert preflight["status"] == "400" and "access-control-allow-origin" not in preflight
    answer = cors_client.post("/predict/multiclass", json=DIGIT, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_unset_nothing_changes(client: TestClient, path: str, body: dict) -> None:
    preflight = _preflight(client, path)
    assert preflight["status"] == "405" and "access-control-allow-origin" not in preflight
    answer = client.post(path, json=body, headers={"Origin": ORIGIN})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
