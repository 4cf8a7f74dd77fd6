"""Page behaviours: the API-key prompt, the not-a-digit warning, and the page's accessibility.

The 401 test routes the page's calls through Playwright, because the service started here has no keys;
only that response is changed and every call still reaches the real service.
"""

import json

import numpy as np
import pytest
from playwright.sync_api import Page, Route

from tests.app.conftest import png_bytes
from tests.app.web.conftest import SCREENSHOTS, Watch

pytestmark = pytest.mark.timeout(60)

KEY = "s3cret-key"


def upload(page: Page, image: np.ndarray) -> None:
    page.get_by_test_id("upload").set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": png_bytes(image, ink_on_white=True)}]
    )


def test_a_401_asks_for_the_key_and_sends_it_as_a_bearer_token(
    page: Page, server: str, test_digits: tuple, watch: Watch
) -> None:
    """Routed: the real service has no API keys yet; a call without the right key gets its 401."""

    def require_key(route: Route) -> None:
        if route.request.headers.get("authorization") == f"Bearer {KEY}":
            route.continue_()
        else:
            route.fulfill(
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
                content_type="application/json",
                body=json.dumps({"detail": "missing or invalid API key"}),
            )

    page.route("**/predict/multiclass", require_key)
    page.goto(server)
    upload(page, test_digits[0][0])
    key_input = page.get_by_label("API key", exact=True)
    key_input.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "api-key"
    assert "needs an API key" in page.get_by_test_id("error").inner_text()
    key_input.fill("wrong")
    key_input.press("Enter")
    page.get_by_test_id("error").wait_for(state="visible")
    assert "refused this API key" in page.get_by_test_id("error").inner_text()
    key_input.fill(KEY)
    page.get_by_role("button", name="Use this key").click()
    page.wait_for_selector("[data-testid=digit-result][data-label]")
    assert page.get_by_test_id("digit-result").get_attribute("data-label") == str(test_digits[1][0])
    assert page.get_by_test_id("error").is_hidden() and key_input.is_hidden()
    assert page.evaluate("sessionStorage.getItem('digit-service.api-key')") == KEY
    api_calls = [(url, headers) for url, headers, _ in watch.requests if "/static/" not in url and url != f"{server}/"]
    assert any(headers.get("authorization") == "Bearer wrong" for _, headers in api_calls)
    first = next(i for i, (_, headers) in enumerate(api_calls) if headers.get("authorization") == f"Bearer {KEY}")
    assert all(headers.get("authorization") == f"Bearer {KEY}" for _, headers in api_calls[first:])
    assert {url.removeprefix(server) for url, _ in api_calls[first:]} == {"/models", "/predict/multiclass"}


def test_is_digit_false_says_it_does_not_look_like_a_digit(page: Page, server: str, test_digits: tuple) -> None:
    page.goto(server)
    warning = page.get_by_test_id("not-digit")
    upload(page, test_digits[0][0])
    page.wait_for_selector("[data-testid=digit-result][data-label]")
    assert warning.is_hidden()
    upload(page, np.zeros((28, 28), dtype=np.uint8))  # an empty page: softmax still picks a digit
    warning.wait_for(state="visible")
    assert "this does not look like a digit" in warning.inner_text().lower()


def test_controls_are_named_labelled_announced_and_reachable_by_keyboard(page: Page, server: str) -> None:
    page.goto(server)
    for name in ("Classify", "Clear"):
        assert page.get_by_role("button", name=name, exact=True).count() == 2
    assert page.get_by_role("img", name="Drawing pad: draw one digit").count() == 1
    assert page.get_by_role("img", name="Drawing pad with four squares").count() == 1
    assert page.get_by_label("Or upload a picture of a digit").get_attribute("data-testid") == "upload"
    for testid in ("digit-result", "digits-result"):
        live = page.get_by_test_id(testid).locator("xpath=ancestor::*[@aria-live][1]")
        assert live.get_attribute("aria-live") == "polite"
    assert page.get_by_test_id("error").get_attribute("role") == "alert"
    page.get_by_label("Use one threshold for every digit").check()
    page.locator("h1").click()
    reached = set()
    for _ in range(20):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.dataset.testid || document.activeElement.id"))
    expected = {
        "digit-classify", "digit-clear", "upload", "digits-classify", "digits-clear", "threshold-override", "threshold"
    }  # fmt: skip
    assert expected <= reached


CONTRAST = """() => {
  const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((v) => v / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
    if (!own || element.offsetParent === null || element.closest("[disabled]")) continue;
    const style = getComputedStyle(element);
    const [a, b] = [luminance(rgb(style.color)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && style.fontWeight >= 700);
    const text = element.textContent.trim().slice(0, 30);
    if (ratio < (large ? 3 : 4.5)) low.push(`${element.tagName}#${element.id} "${text}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_text_contrast_meets_wcag_aa(page: Page, server: str, test_digits: tuple) -> None:
    page.goto(server)
    upload(page, test_digits[0][0])
    page.wait_for_selector("[data-testid=digit-result][data-label]")
    assert page.evaluate(CONTRAST) == []


def test_docs_render_every_operation_offline(page: Page, server: str) -> None:
    page.goto(f"{server}/docs")
    page.locator(".opblock").first.wait_for()
    paths = page.request.get(f"{server}/openapi.json").json()["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert page.locator(".opblock").count() == operations
    assert page.locator("#operations-predict-predict_multiclass").is_visible()
    page.screenshot(path=SCREENSHOTS / "docs.png")
    page.locator("#operations-predict-predict_multiclass .opblock-summary").click()
    page.get_by_text("Which digit is in each 28x28 image?").wait_for()


VIOLATIONS = """() => {
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
  });
}"""


@pytest.mark.parametrize(("path", "rendered"), [("/", "[data-testid=digit-pad]"), ("/docs", ".opblock")])
def test_the_page_and_docs_work_under_their_content_security_policy(
    page: Page, server: str, path: str, rendered: str
) -> None:
    page.add_init_script(f"({VIOLATIONS})()")
    response = page.goto(f"{server}{path}")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.locator(rendered).first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.cspViolations") == []  # and the page fixture fails on any console error
