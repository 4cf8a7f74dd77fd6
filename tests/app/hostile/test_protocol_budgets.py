"""Small lies and protocol abuse: each gets a clear 4xx in the route's error style, never a 500."""

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.app.conftest import make_settings

INFER = "/v2/models/mnist-multiclass/infer"
DIGIT = [0] * 784


def v2_body(data: list, datatype: str = "FP32", **extra: object) -> bytes:
    return json.dumps(
        {"inputs": [{"name": "pixels", "shape": [1, 784], "datatype": datatype, "data": data}], **extra}
    ).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [[True, *DIGIT[1:]]]}, "instances[0]: booleans are not numbers"),
        ({"instances": [[[False] * 28] * 28]}, "instances[0]: booleans are not numbers"),
        ({"instances": [DIGIT, [0.0] * 783 + [True]]}, "instances[1]: booleans are not numbers"),
    ],
)
def test_booleans_are_never_pixels(client: TestClient, body: dict, message: str) -> None:
    response = client.post("/predict/multiclass", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_booleans_in_options_do_not_stop_real_pixels(client: TestClient) -> None:
    response = client.post("/predict/multiclass", json={"instances": [DIGIT], "return_logits": True})
    assert response.status_code == 200 and len(response.json()["predictions"][0]["logits"]) == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (v2_body([0.5] * 784, "UINT8"), "UINT8 data must be whole numbers"),
        (v2_body([1.0] * 784, "INT32"), "INT32 data must be whole numbers"),
        (v2_body([True] * 784, "UINT8"), "booleans are not numbers"),
        (v2_body([0] * 783 + [False], "FP32"), "booleans are not numbers"),
        (v2_body(DIGIT, outputs=[{"name": "logits"}, {"name": "logits"}]), "output 'logits' is named twice"),
    ],
)
def test_v2_data_must_fit_its_datatype_and_outputs_are_named_once(
    client: TestClient, body: bytes, message: str
) -> None:
    response = client.post(INFER, content=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_thousand_outputs_cannot_inflate_the_answer(client: TestClient) -> None:
    response = client.post(INFER, content=v2_body(DIGIT, outputs=[{"name": "logits"}] * 1000))
    assert response.status_code == 400 and len(response.content) < 200


@pytest.mark.parametrize("encoding", ["GZIP", "Gzip", " gzip"])
def test_content_coding_names_are_case_insensitive(client: TestClient, encoding: str) -> None:
    response = client.post(INFER, content=gzip.compress(v2_body(DIGIT)), headers={"content-encoding": encoding})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)], ids=["gzip", "deflate"]
)
def test_bytes_after_a_compressed_stream_get_400(client: TestClient, encoding: str, compress) -> None:
    body = compress(v2_body(DIGIT))
    assert client.post(INFER, content=body, headers={"content-encoding": encoding}).status_code == 200
    response = client.post(INFER, content=body + b"junk", headers={"content-encoding": encoding})
    assert response.status_code == 400 and "4 bytes after the end of its" in response.json()["error"]


def test_a_non_ascii_digit_header_length_gets_400(client: TestClient) -> None:
    headers = [(b"inference-header-content-length", "²".encode("latin-1"))]
    response = client.post(INFER, content=v2_body(DIGIT), headers=headers)
    assert response.status_code == 400 and "whole number" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict/multilabel", {"instances": [[0] * 3136], "threshold": "t" * 2_000_000}, "detail"),
        ("/predict/multiclass", {"instances": [DIGIT], "k" * 2_000_000: 1}, "detail"),
        ("/predict/multiclass", {"instances": [{"b64": "x", "k" * 2_000_000: 1}]}, "detail"),
    ],
)
def test_error_details_quote_at_most_about_100_characters(
    client: TestClient, path: str, body: dict, field: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422 and len(response.json()[field]) < 300


def nested(depth: int, leaf: str) -> str:
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("depth", [100, 900, 1020])
@pytest.mark.parametrize("leaf", ["0", "true"])
def test_deeply_nested_lists_get_a_4xx(client: TestClient, depth: int, leaf: str) -> None:
    text = nested(depth, leaf)
    bodies = [
        ("/predict/multiclass", f'{{"instances": [{text}], "return_logits": true}}', "detail"),
        ("/predict/multiclass", f'{{"instances": [[0]], "top_k": {text}}}', "detail"),
        ("/predict/multilabel", f'{{"instances": [[0]], "threshold": {text}}}', "detail"),
        (
            INFER,
            f'{{"inputs": [{{"name": "pixels", "shape": [1, 784], "datatype": "FP32", "data": {text}}}]}}',
            "error",
        ),
    ]
    for path, body, field in bodies:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code in (400, 422) and len(response.json()[field]) < 300, (path, response.text[:200])


def test_v2_names_are_quoted_briefly(client: TestClient) -> None:
    body = json.dumps({"inputs": [{"name": "p" * 1_000_000, "shape": [1, 784], "datatype": "FP32", "data": DIGIT}]})
    response = client.post(INFER, content=body.encode())
    assert response.status_code == 400 and len(response.json()["error"]) < 300
    missing = client.get("/v2/models/" + "m" * 5000)
    assert missing.status_code == 404 and len(missing.json()["error"]) < 300


@pytest.mark.parametrize(
    ("method", "path", "allow"), [("GET", "/predict/multiclass", "POST"), ("POST", "/healthz", "GET")]
)
def test_405_names_the_allowed_methods(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405 and response.headers["allow"] == allow
    assert "detail" in response.json()


def test_an_unexpected_error_is_a_json_500_that_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(make_settings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/v2/boom")
    async def boom_v2() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        for path, field in (("/boom", "detail"), ("/v2/boom", "error")):
            response = client.get(path)
            assert response.status_code == 500 and response.headers["content-type"] == "application/json"
            assert response.json() == {field: "internal server error", "request_id": response.headers["x-request-id"]}
    assert "secret internals" in caplog.text and "Traceback" in caplog.text


def test_requests_past_max_concurrency_get_503_while_health_answers() -> None:
    app = create_app(make_settings(max_concurrency=1))
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"instances": '
        await release.wait()
        yield json.dumps([DIGIT]).encode() + b"}"

    async def scenario() -> tuple[int, int, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://x") as client,
        ):
            headers = {"content-type": "application/json"}
            first = asyncio.ensure_future(client.post("/predict/multiclass", content=slow_body(), headers=headers))
            await asyncio.sleep(0.05)
            second = await client.post("/predict/multiclass", json={"instances": [DIGIT]})
            health = await client.get("/healthz")
            release.set()
            return (await first).status_code, second.status_code, health.status_code, "MAX_CONCURRENCY" in second.text

    assert asyncio.run(scenario()) == (200, 503, 200, True)


def test_a_large_json_body_goes_through_the_work_pool_and_is_answered_right(client: TestClient) -> None:
    pixels = np.zeros((200, 784))
    pixels[:, 300:310] = 255
    response = client.post("/predict/multiclass", json={"instances": pixels.tolist()})
    assert response.status_code == 200 and len({p["label"] for p in response.json()["predictions"]}) == 1
