"""`python -m app`: verify the models, then serve them with uvicorn."""

import logging
import logging.config
import os
import sys

from pydantic import ValidationError

from app.core.errors import ModelLoadError
from app.main import create_app
from app.operations.allocator import tune_allocator
from app.operations.auth import KeyFileError
from app.operations.config import Settings, deprecation_warnings
from app.operations.logs import logging_config
from app.transports.grpc.server import check_port_free
from app.transports.http.deps import services_of
from app.transports.http.server import serve_one, serve_workers


def main() -> int:
    """Start the service from the environment's settings; exit 2 with one line if a model is bad."""
    tune_allocator()
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"] for e in error.errors()
        )
        print(f"error: invalid setting: {problems}", file=sys.stderr)
        return 2
    if settings.grpc_port:
        try:
            check_port_free(settings.host, settings.grpc_port, shared=settings.workers > 1)
        except OSError as error:
            print(f"error: cannot start: GRPC_PORT {settings.grpc_port} on {settings.host}: {error}", file=sys.stderr)
            return 2
    logging.config.dictConfig(logging_config(settings))
    for warning in deprecation_warnings(os.environ):
        logging.getLogger("app").warning(warning)
    try:
        app = create_app(settings)
        services_of(app).registry.load()
    except (ModelLoadError, KeyFileError) as error:
        print(f"error: cannot start: {error}", file=sys.stderr)
        return 2
    if settings.workers == 1:
        serve_one(settings, app)
    else:
        del app  # each worker process builds and loads its own
        serve_workers(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
