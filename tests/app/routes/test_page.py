"""GET /, its static files and /docs: served from the package, nothing from another origin."""

import re

from fastapi.testclient import TestClient

from app.transports.http.routes.page import WEB_DIR

HOOKS = [
    "digit-pad", "digit-classify", "digit-clear", "upload", "digit-result", "digit-bars",
    "digits-pad", "digits-classify", "digits-clear", "digits-result", "digits-bars", "error",
]  # fmt: skip


def test_the_page_holds_every_test_hook(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for hook in HOOKS:
        assert f'data-testid="{hook}"' in response.text


def test_the_page_and_docs_load_nothing_from_another_origin(client: TestClient) -> None:
    for path in ("/", "/docs"):
        html = client.get(path).text
        links = re.findall(r'(?:src|href)=["\']([^"\']+)', html) + re.findall(r'url: ?["\']([^"\']+)', html)
        assert links, path
        assert [link for link in links if re.match(r"^(https?:)?//", link)] == [], path
        for link in links:
            if not link.startswith(("data:", "#")):
                assert client.get(f"/{link.lstrip('/')}").status_code == 200, link


def test_static_files_are_served_from_the_package(client: TestClient) -> None:
    for name in ("page.js", "page.css"):
        assert client.get(f"/static/{name}").content == (WEB_DIR / name).read_bytes()
    assert client.get("/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_the_page_and_docs_allow_only_the_service_itself_and_no_framing(client: TestClient) -> None:
    for path in ("/", "/docs"):
        response = client.get(path)
        policy = dict(
            directive.strip().split(" ", 1) for directive in response.headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'", path
        assert "script-src" not in policy and "style-src" not in policy, path  # default-src 'self': no inline code
        assert response.headers["x-content-type-options"] == "nosniff", path
        scripts = re.findall(r"<script\b[^>]*>", response.text)
        assert scripts and all(" src=" in script for script in scripts), path  # no inline script
