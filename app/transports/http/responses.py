"""The JSON response class used by every route: orjson, with numpy arrays serialised natively."""

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """application/json rendered by orjson; float32 arrays keep their short float32 digits."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
