"""Malformed and bomb images against a real process, as multipart and as b64: a 4xx, never a 500, and the
keep-alive connection stays usable."""

import base64
import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.app.hostile.image_corpus import ANCILLARY, MALFORMED, digit_image, encoded

BOUNDARY = "corpus-boundary"


def multipart(data: bytes) -> tuple[bytes, str]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def b64_json(data: bytes) -> tuple[bytes, str]:
    return json.dumps({"instances": [{"b64": base64.b64encode(data).decode()}]}).encode(), "application/json"


@pytest.fixture(scope="module")
def connection(server: str) -> Iterator[http.client.HTTPConnection]:
    address = urlsplit(server)
    with_server = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    yield with_server
    with_server.close()


def post(connection: http.client.HTTPConnection, body: bytes, content_type: str) -> tuple[int, dict, bool]:
    """Status, JSON body, and whether the server keeps the connection open."""
    connection.request("POST", "/predict/multiclass", body, {"content-type": content_type})
    response = connection.getresponse()
    payload = json.loads(response.read())
    return response.status, payload, not response.will_close


@pytest.mark.parametrize("encode", [multipart, b64_json], ids=["multipart", "b64"])
@pytest.mark.parametrize("name", [*MALFORMED, *ANCILLARY])
def test_bad_images_get_a_4xx_and_the_connection_lives(connection, encode, name: str) -> None:
    status, payload, kept_alive = post(connection, *encode((MALFORMED | ANCILLARY)[name]()))
    if name in MALFORMED:
        assert status == 422, payload
        assert payload["detail"].startswith(("file[0]: ", "instances[0].b64: ")) and len(payload["detail"]) < 300
    else:
        assert status in (200, 422), payload
    assert kept_alive
    status, payload, kept_alive = post(connection, *encode(encoded(digit_image(), "PNG")))
    assert (status, payload["predictions"][0]["label"], kept_alive) == (200, 1, True)


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("png 4096x4096", "MAX_IMAGE_PIXELS"),
        ("png 1x16777216", "MAX_IMAGE_PIXELS"),
        ("jpeg frame claims 4096x4096", "MAX_IMAGE_PIXELS"),
        ("jpeg frame claims 2048x2048", "JPEG data is truncated"),
    ],
)
def test_oversized_and_lying_images_are_refused_naming_the_limit(connection, name: str, limit: str) -> None:
    status, payload, _ = post(connection, *multipart(MALFORMED[name]()))
    assert status == 422 and limit in payload["detail"]
