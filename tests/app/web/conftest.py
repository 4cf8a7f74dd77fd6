"""Browser fixtures: Playwright driving Debian's Chromium against a real service, watching every request."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# The README's screenshots are renewed on request (`make screenshots`); a plain test run leaves the tree clean.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", Path(tempfile.gettempdir()) / "digit-service-screenshots"))
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
ACTION_TIMEOUT_MS = 10_000
FAILED_RESPONSE = "Failed to load resource: the server responded with a status of"  # checked by on_response


def _unavailable(reason: str) -> None:
    """Skip, or fail when BROWSER_TESTS=required (CI: a skipped browser suite is a failed run)."""
    if os.environ.get("BROWSER_TESTS") == "required":
        pytest.fail(f"browser tests are required but cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module: Playwright's sync API runs an event loop in this thread while it is open, and
    later tests (the client's) call asyncio.run, which refuses to start inside a running loop."""
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


class Watch:
    """What a page did: requests to other origins, and errors (uncaught exceptions, console errors, failed loads).

    Error answers of /predict are expected in some tests (the page must show them), so they are not errors here.
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.foreign_requests: list[str] = []
        self.errors: list[str] = []
        self.requests: list[tuple[str, dict[str, str], str | None]] = []

    def on_request(self, request: Request) -> None:
        url = request.url
        self.requests.append((url, request.headers, request.post_data))
        parts = urlsplit(url)
        if parts.scheme not in ("data", "blob") and f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(FAILED_RESPONSE):
            self.errors.append(f"console: {message.text}")

    def on_response(self, response: Response) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and not path.startswith("/predict/"):
            self.errors.append(f"{response.status} for {path}")


@pytest.fixture()
def watch(server: str) -> Watch:
    return Watch(server)


@pytest.fixture()
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A fresh tab (own session storage) on the service; fails the test if it left the origin or erred."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, has_touch=True)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.on("request", watch.on_request)
    context.on("response", watch.on_response)
    tab = context.new_page()
    tab.on("pageerror", lambda error: watch.errors.append(f"pageerror: {error}"))
    tab.on("console", watch.on_console)
    try:
        yield tab
    finally:
        context.close()
    assert watch.foreign_requests == [], "requests left the origin"
    assert watch.errors == [], "the page had errors"
