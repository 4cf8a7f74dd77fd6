"""HEAD answers like GET without the body, on every GET route; other methods are unchanged."""

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "path", ["/", "/docs", "/healthz", "/readyz", "/metrics", "/models", "/v2/health/ready", "/static/page.js"]
)
def test_head_on_a_get_route_has_the_get_status_and_headers_and_no_body(client: TestClient, path: str) -> None:
    head, get = client.head(path), client.get(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    if path != "/metrics":  # counts this very request, so its length changes
        assert head.headers["content-length"] == str(len(get.content))


def test_head_on_a_post_route_is_still_405(client: TestClient) -> None:
    assert client.head("/predict/multiclass").status_code == 405


def test_head_is_counted_as_head(client: TestClient) -> None:
    client.head("/healthz")
    assert 'method="HEAD",route="/healthz",status="200"' in client.get("/metrics").text
