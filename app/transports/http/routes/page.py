"""The page for people at GET /, its static files, and /docs with Swagger UI served from the package (no CDN)."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

WEB_DIR = Path(__file__).resolve().parents[3] / "web"
STATIC_PATH = "/static"
SWAGGER_PATH = "/swagger-ui"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",  # the page's empty favicon, Swagger UI's icons
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Scripts, styles, fonts and API calls from the service itself only: no inline script, no other origin, no
framing."""
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The page: draw or upload digits, see softmax against sigmoid."""
    return FileResponse(WEB_DIR / "index.html", headers=PAGE_HEADERS)


@router.get("/docs")
async def docs() -> FileResponse:
    """Swagger UI from this package's files, started by static/docs.js (no inline script); URLs are relative, so
    it works behind a path prefix too."""
    return FileResponse(WEB_DIR / "docs.html", headers=PAGE_HEADERS)


@router.get(OAUTH2_REDIRECT_PATH)
async def oauth2_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


def install_page(app: FastAPI) -> None:
    """The page, /docs and their static files."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=WEB_DIR), name="static")
    app.mount(SWAGGER_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
