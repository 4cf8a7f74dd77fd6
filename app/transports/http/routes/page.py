"""The page for people at GET /, its static files, and /docs with Swagger UI served from the package (no CDN)."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

WEB_DIR = Path(__file__).resolve().parents[3] / "web"
STATIC_PATH = "/static"
SWAGGER_PATH = "/swagger-ui"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The page: draw or upload digits, see softmax against sigmoid."""
    return FileResponse(WEB_DIR / "index.html")


@router.get("/docs")
async def docs() -> HTMLResponse:
    """Swagger UI from this package's files; URLs are relative, so it works behind a path prefix too."""
    return get_swagger_ui_html(
        openapi_url="openapi.json",
        title="Digit inference service - API",
        swagger_js_url=f"{SWAGGER_PATH[1:]}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_PATH[1:]}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_PATH[1:]}/favicon-32x32.png",
        oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would send the schema to an online validator
    )


@router.get(OAUTH2_REDIRECT_PATH)
async def oauth2_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


def install_page(app: FastAPI) -> None:
    """The page, /docs and their static files."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=WEB_DIR), name="static")
    app.mount(SWAGGER_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
