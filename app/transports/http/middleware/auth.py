"""Bearer API keys on every route but health, readiness, metrics and the page; ADMIN_KEY on /admin."""

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from app.operations.auth import KeyRing, admin_key_accepts, bearer_token
from app.transports.http.errors import error_response
from app.transports.http.middleware import PROBE_PATHS
from app.transports.http.routes.page import STATIC_PATH, SWAGGER_PATH

PUBLIC_PATHS = PROBE_PATHS | {"/", "/docs", "/docs/oauth2-redirect", "/openapi.json"}
"""Open without a key: probes, metrics, and the pages a browser opens before it can send a key."""
PUBLIC_PREFIXES = (f"{STATIC_PATH}/", f"{SWAGGER_PATH}/")
"""The page's and Swagger UI's files, which the browser fetches without the key."""
ADMIN_PREFIX = "/admin/"
CHALLENGE = [(b"www-authenticate", b"Bearer")]


class ApiKeyMiddleware:
    """401 with `WWW-Authenticate: Bearer` for a missing or wrong key, in the route's error style."""

    def __init__(self, app: ASGIApp, keys: KeyRing, admin_key: SecretStr | None) -> None:
        self.app = app
        self.keys = keys
        self.admin_key = admin_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            if self.admin_key is None or not self.admin_key.get_secret_value():
                await error_response(scope, 404, "admin routes are disabled: ADMIN_KEY is not set")(
                    scope, receive, send
                )
                return
            if not admin_key_accepts(self.admin_key, self._token(scope)):
                message = "missing or wrong admin key: send Authorization: Bearer <ADMIN_KEY>"
                await self._refuse(scope, receive, send, message)
                return
        elif self.keys.enabled and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            token = self._token(scope)
            if token is None or not self.keys.accepts(token):
                await self._refuse(scope, receive, send, "missing or wrong API key: send Authorization: Bearer <key>")
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _token(scope: Scope) -> str | None:
        header = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        return bearer_token(header.decode("latin-1")) if header is not None else None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, message: str) -> None:
        response = error_response(scope, 401, message)
        response.raw_headers += CHALLENGE
        await response(scope, receive, send)
