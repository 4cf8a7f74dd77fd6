"""`python -m app`: verify the models, then serve them with uvicorn."""

import logging
import sys

import uvicorn

from app.config import Settings
from app.errors import ModelLoadError
from app.main import create_app


def main() -> int:
    """Start the service from the environment's settings; exit 2 with one line if a model is bad."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper() if settings.log_level != "trace" else "DEBUG",
                        format="%(levelname)s:     %(name)s: %(message)s")
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
    }
    if settings.workers == 1:
        uvicorn.run(app, **server_options)
    else:
        del app  # each worker process builds and loads its own
        uvicorn.run("app.main:create_app", factory=True, workers=settings.workers, **server_options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
