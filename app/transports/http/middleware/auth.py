"""Bearer API keys on every route but health, readiness, metrics and the page; ADMIN_KEY on /admin."""

from pydantic import SecretStr
from starlette.types import Scope

from app.operations.auth import KeyRing, admin_key_accepts, bearer_token
from app.transports.http.errors import error_response
from app.transports.http.middleware import PROBE_PATHS
from app.transports.http.responses import JSONResponse
from app.transports.http.routes.page import STATIC_PATH, SWAGGER_PATH

PUBLIC_PATHS = PROBE_PATHS | {"/", "/docs", "/docs/oauth2-redirect", "/openapi.json"}
"""Open without a key: probes, metrics, and the pages a browser opens before it can send a key."""
PUBLIC_PREFIXES = (f"{STATIC_PATH}/", f"{SWAGGER_PATH}/")
"""The page's and Swagger UI's files, which the browser fetches without the key."""
ADMIN_PREFIX = "/admin/"
CHALLENGE = [(b"www-authenticate", b"Bearer")]


class ApiKeyCheck:
    """Which requests a key lets through (RequestGate asks it once per request, before any route runs)."""

    def __init__(self, keys: KeyRing, admin_key: SecretStr | None) -> None:
        self.keys = keys
        self.admin_key = admin_key

    def refusal(self, scope: Scope, authorization: bytes | None) -> JSONResponse | None:
        """None when the request may go on; else its answer: 404 while /admin is disabled, or 401 with
        `WWW-Authenticate: Bearer` for a missing or wrong key, in the route's error style."""
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            if self.admin_key is None or not self.admin_key.get_secret_value():
                return error_response(scope, 404, "admin routes are disabled: ADMIN_KEY is not set")
            if not admin_key_accepts(self.admin_key, _token(authorization)):
                return _unauthorized(scope, "missing or wrong admin key: send Authorization: Bearer <ADMIN_KEY>")
        elif self.keys.enabled and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            token = _token(authorization)
            if token is None or not self.keys.accepts(token):
                return _unauthorized(scope, "missing or wrong API key: send Authorization: Bearer <key>")
        return None


def _token(authorization: bytes | None) -> str | None:
    return bearer_token(authorization.decode("latin-1")) if authorization is not None else None


def _unauthorized(scope: Scope, message: str) -> JSONResponse:
    response = error_response(scope, 401, message)
    response.raw_headers += CHALLENGE
    return response
