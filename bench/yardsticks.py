"""The HTTP yardsticks: bare-JSON floors and the plain FastAPI server most people would write.

Run one with `python -m bench.yardsticks floor|floor-orjson|plain MODELS_DIR PORT`.
"""

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROUTES = {"multiclass": "mnist-multiclass", "multilabel": "mnist-multilabel"}


def floor_app(parse: Callable[[Request], Awaitable[object]]) -> Starlette:
    """Parses the same JSON body and returns a constant: the HTTP + JSON floor."""

    async def endpoint(request: Request) -> Response:
        await parse(request)
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route(f"/predict/{task}", endpoint, methods=["POST"]) for task in ROUTES])


async def starlette_json(request: Request) -> object:
    """Starlette's own request.json() (the standard library's json): the issue's floor."""
    return await request.json()


async def orjson_body(request: Request) -> object:
    """orjson, the parser the service uses: a higher floor."""
    return orjson.loads(await request.body())


class Instances(BaseModel):
    instances: list[list[float]]


def plain_app(models_dir: Path) -> FastAPI:
    """A typed FastAPI endpoint with a pydantic list[list[float]] body doing the same inference."""
    app = FastAPI()
    sessions = {}
    for task, name in ROUTES.items():
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        sessions[task] = ort.InferenceSession(str(models_dir / name / "model.onnx"), options)

    @app.post("/predict/multiclass")
    async def multiclass(body: Instances) -> dict:
        pixels = np.asarray(body.instances, dtype=np.float32).reshape(-1, 28, 28)
        logits = sessions["multiclass"].run(None, {"pixels": pixels})[0]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        return {"predictions": [{"label": int(p.argmax()), "probabilities": p.tolist()} for p in probabilities]}

    @app.post("/predict/multilabel")
    async def multilabel(body: Instances) -> dict:
        pixels = np.asarray(body.instances, dtype=np.float32).reshape(-1, 56, 56)
        logits = sessions["multilabel"].run(None, {"pixels": pixels})[0]
        probabilities = 1 / (1 + np.exp(-logits))
        return {"predictions": [{"flags": (p >= 0.5).tolist(), "probabilities": p.tolist()} for p in probabilities]}

    return app


if __name__ == "__main__":
    kind, models_dir, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    apps = {
        "floor": lambda: floor_app(starlette_json),
        "floor-orjson": lambda: floor_app(orjson_body),
        "plain": lambda: plain_app(models_dir),
    }
    app = apps[kind]()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
