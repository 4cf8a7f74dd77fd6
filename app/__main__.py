"""`python -m app`: verify the models, then serve them with uvicorn."""

import logging
import os
import sys

import uvicorn
from pydantic import ValidationError

from app.config import Settings, deprecation_warnings
from app.errors import ModelLoadError
from app.main import create_app

# uvicorn's httptools protocol plus the READ_TIMEOUT_S deadline; named by string so workers import it.
HTTP_PROTOCOL = "app.server:DeadlineHttpToolsProtocol"


def main() -> int:
    """Start the service from the environment's settings; exit 2 with one line if a model is bad."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        print(f"error: invalid setting: {problems}", file=sys.stderr)
        return 2
    level = logging.DEBUG if settings.log_level == "trace" else settings.log_level.upper()
    logging.basicConfig(level=level, format="%(levelname)s:     %(name)s: %(message)s")
    for warning in deprecation_warnings(os.environ):
        logging.getLogger("app").warning(warning)
    app = create_app(settings)
    try:
        app.state.registry.load()
    except ModelLoadError as error:
        print(f"error: cannot start: {error}", file=sys.stderr)
        return 2
    server_options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": settings.access_log,
        "http": HTTP_PROTOCOL,
    }
    if settings.workers == 1:
        uvicorn.run(app, **server_options)
    else:
        del app  # each worker process builds and loads its own
        uvicorn.run("app.main:create_app", factory=True, workers=settings.workers, **server_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
