"""X-Request-ID on every response and error body; one access log line per request; failures with their traceback."""

import json
import logging
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.operations.logs import JsonFormatter, request_id_of
from tests.app.conftest import SHIPPED_MODELS, free_port, make_settings, start_service, wait_until_ready

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [(b"abc-123", True), (b"trace:4bf92f3577b34da6/00f067aa0ba902b7", True), (b"x" * 128, True),
     (b"x" * 129, False), (b"has space", False), (b"new\nline", False), ("é".encode(), False), (b"", False)],
)  # fmt: skip
def test_a_sane_request_id_is_kept_and_any_other_replaced(sent: bytes, kept: bool) -> None:
    request_id = request_id_of(sent.decode("latin-1"))
    assert request_id == sent.decode("latin-1") if kept else GENERATED.fullmatch(request_id)


def test_the_request_id_is_echoed_in_the_header_and_error_bodies(client: TestClient) -> None:
    ok = client.get("/healthz", headers={"X-Request-ID": "req-1"})
    assert ok.headers["x-request-id"] == "req-1"
    assert GENERATED.fullmatch(client.get("/healthz").headers["x-request-id"])
    bad = client.post("/predict/multiclass", json={"instances": [[1, 2]]}, headers={"X-Request-ID": "req-2"})
    assert bad.status_code == 422 and bad.json()["request_id"] == "req-2" and bad.headers["x-request-id"] == "req-2"
    v2 = client.get("/v2/models/nope", headers={"X-Request-ID": "req-3"})
    assert v2.status_code == 404 and v2.json()["request_id"] == "req-3"
    unknown = client.get("/nowhere")
    assert unknown.json()["request_id"] == unknown.headers["x-request-id"]


def test_an_unexpected_error_is_logged_with_its_request_id_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(make_settings())

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR, "app.error"):
        response = client.get("/broken", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"
    (record,) = [r for r in caplog.records if r.name == "app.error"]
    assert record.fields["request_id"] == "req-500" and record.fields["status"] == 500  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-500" and line["route"] == "/broken"
    assert 'raise RuntimeError("a bug")' in line["traceback"]


def test_json_access_log_has_one_line_per_request_with_its_fields(test_digits: tuple) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_service(SHIPPED_MODELS, port, LOG_FORMAT="json", ACCESS_LOG="true")
    try:
        wait_until_ready(process, url)
        body = {"instances": [image.tolist() for image in test_digits[0][:3]]}
        found_me = httpx.post(f"{url}/predict/multiclass", json=body, headers={"X-Request-ID": "find-me"})
        assert found_me.status_code == 200
        assert httpx.post(f"{url}/predict/multiclass", json={"instances": []}).status_code == 422
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON, uvicorn's too
    (found,) = [line for line in lines if line.get("request_id") == "find-me"]
    assert found["logger"] == "app.access" and found["time"].endswith("+00:00")
    assert found["method"] == "POST" and found["route"] == "/predict/multiclass" and found["status"] == 200
    assert found["instances"] == 3 and found["model"] == "mnist-multiclass" and found["model_version"] == "1.0.0"
    assert found["duration_ms"] > 0 and found["client"].startswith("127.0.0.1:")
    assert [line["status"] for line in lines if line.get("route") == "/predict/multiclass"] == [200, 422]
    assert any(line["logger"].startswith("uvicorn") for line in lines)


def test_a_bug_on_a_hot_route_answers_500_with_its_id_and_is_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot routes are called by RequestGate, not Starlette: their bugs get the same 500 body and log line."""
    app = create_app(make_settings())
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR, "app.error"):
        model = app.state.services.registry.for_task("multiclass")

        def broken(pixels: object) -> None:
            raise RuntimeError("a bug in the model")

        monkeypatch.setattr(model, "logits", broken)
        response = client.post("/predict/multiclass", json={"instances": [[0] * 784]}, headers={"X-Request-ID": "hot"})
        assert client.post("/v2/models/mnist-multiclass/infer", content=b"{").status_code == 400  # still serving
    assert response.status_code == 500 and response.headers["x-request-id"] == "hot"
    assert response.json() == {"detail": "internal server error", "request_id": "hot"}
    (record,) = [r for r in caplog.records if r.name == "app.error"]
    assert record.fields["route"] == "/predict/multiclass" and record.fields["status"] == 500  # type: ignore[attr-defined]
    assert "a bug in the model" in json.loads(JsonFormatter().format(record))["traceback"]
