"""With API keys set, every route but health, readiness, metrics and the page needs `Authorization: Bearer`."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from fastapi.testclient import TestClient
from tritonclient.utils import InferenceServerException

from app.main import create_app
from tests.app.conftest import SHIPPED_MODELS, free_port, make_settings, start_service, wait_until_ready

KEY = "k3y-for-tests-0123"
AUTH = {"Authorization": f"Bearer {KEY}"}
DIGIT = {"instances": [np.zeros((28, 28)).tolist()]}


@pytest.fixture(scope="module")
def keyed_client() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(api_key=KEY)), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/predict/multiclass", DIGIT),
        ("GET", "/models", None),
        ("GET", "/models/mnist-multiclass", None),
        ("GET", "/v2", None),
        ("GET", "/v2/models/mnist-multiclass", None),
        ("GET", "/v2/models/mnist-multiclass/ready", None),
        ("POST", "/v2/models/mnist-multiclass/infer", {"inputs": []}),
        ("GET", "/no-such-route", None),
    ],
)
def test_a_missing_or_wrong_key_gets_401_in_the_route_error_style(
    keyed_client: TestClient, method: str, path: str, body: object
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):
        response = keyed_client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        message = response.json()["error" if path.startswith("/v2") else "detail"]
        assert "Authorization: Bearer" in message
    assert keyed_client.request(method, path, json=body, headers=AUTH).status_code != 401


def test_probes_metrics_and_the_page_need_no_key(keyed_client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/docs", "/openapi.json"):
        assert keyed_client.get(path).status_code == 200, path
    schema = keyed_client.get("/openapi.json").json()  # so the docs page's Authorize button sends the key
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["security"] == [{"bearer": []}]


def test_with_a_key_the_answer_is_the_same_as_without_keys(keyed_client: TestClient, client: TestClient) -> None:
    assert (
        keyed_client.post("/predict/multiclass", json=DIGIT, headers=AUTH).json()
        == client.post("/predict/multiclass", json=DIGIT).json()
    )


def test_tritonclient_sends_the_key_through_headers(tmp_path: Path, test_digits: tuple) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"other-key-for-tests\n{KEY}\n")
    port = free_port()
    process = start_service(SHIPPED_MODELS, port, API_KEYS_FILE=str(keys_file), LOG_LEVEL="warning")
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}")
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        assert client.is_server_ready()  # health needs no key
        image = test_digits[0][:2]
        pixels = triton.InferInput("pixels", list(image.shape), "UINT8")
        pixels.set_data_from_numpy(image, binary_data=True)
        with pytest.raises(InferenceServerException, match="API key"):
            client.infer("mnist-multiclass", [pixels])
        with pytest.raises(InferenceServerException, match="API key"):
            client.get_model_metadata("mnist-multiclass")
        result = client.infer("mnist-multiclass", [pixels], headers=AUTH)
        assert result.as_numpy("label").tolist() == test_digits[1][:2].tolist()
        assert client.get_model_metadata("mnist-multiclass", headers=AUTH)["name"] == "mnist-multiclass"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_keys_file_is_re_read_on_reload(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("first-key-for-tests\n")
    settings = make_settings(api_keys_file=keys_file, admin_key="admin-secret-for-tests")
    with TestClient(create_app(settings)) as client:
        assert client.get("/models", headers={"Authorization": "Bearer first-key-for-tests"}).status_code == 200
        keys_file.write_text("second-key-for-tests\n")
        assert client.get("/models", headers={"Authorization": "Bearer second-key-for-tests"}).status_code == 401
        assert (
            client.post("/admin/reload", headers={"Authorization": "Bearer admin-secret-for-tests"}).status_code == 200
        )
        assert client.get("/models", headers={"Authorization": "Bearer second-key-for-tests"}).status_code == 200
        assert client.get("/models", headers={"Authorization": "Bearer first-key-for-tests"}).status_code == 401


def test_an_unreadable_keys_file_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    process = start_service(SHIPPED_MODELS, free_port(), API_KEYS_FILE=str(tmp_path / "absent"))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith("error: cannot start: API_KEYS_FILE") and "absent" in stderr


def test_a_reload_with_a_broken_keys_file_keeps_the_old_keys_and_says_so(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("first-key-for-tests\n")
    with TestClient(create_app(make_settings(api_keys_file=keys_file, admin_key="admin-secret-for-tests"))) as client:
        keys_file.write_text("# nothing\n")
        failed = client.post("/admin/reload", headers={"Authorization": "Bearer admin-secret-for-tests"})
        assert failed.status_code == 422 and "API keys unchanged" in failed.json()["detail"]
        assert "models unchanged" not in failed.json()["detail"]
        assert client.get("/models", headers={"Authorization": "Bearer first-key-for-tests"}).status_code == 200
