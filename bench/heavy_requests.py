"""The heaviest requests the default limits accept, timed end to end against the service on one core.

Target (hostile-clients issue): each is answered in at most 2 s. Run: `python -m bench.heavy_requests`.
"""

import base64
import io
import json
import statistics
import sys
import time
from collections.abc import Callable

import httpx
import numpy as np
from PIL import Image

from bench.__main__ import REPO, Server, free_port, start_server

TARGET_S = 2.0
ROUNDS = 5
Files = list[tuple[str, tuple[str, bytes, str]]]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **({"transparency": 3} if image.mode == "P" else {}))
    return buffer.getvalue()


def heaviest_upload(images: int = 4, side: int = 2048) -> Files:
    """Multipart files of the costliest kind found: translucent RGBA PNGs at the per-image pixel cap."""
    return [("file", ("heavy.png", png(Image.new("RGBA", (side, side), (0, 0, 0, 128))), "image/png"))] * images


def cases() -> dict[str, Callable[[httpx.Client, str], httpx.Response]]:
    """Each heavy request, as a call that sends it."""
    rng = np.random.default_rng(0)
    rgba = heaviest_upload()
    palette = [("file", ("p.png", png(Image.new("P", (2048, 2048), 3)), "image/png"))] * 4
    noise = [("file", ("n.png", png(Image.fromarray(rng.integers(0, 256, (2048, 2048), dtype=np.uint8))), "image/png"))]
    small = [("file", ("s.png", png(Image.new("L", (256, 256), 255)), "image/png"))] * 256
    b64 = {"instances": [{"b64": base64.b64encode(rgba[0][1][1]).decode()}] * 4}
    canvases = {"instances": rng.integers(0, 256, (256, 3136)).tolist()}
    binary = rng.integers(0, 256, (256, 56, 56)).astype(np.float32).tobytes()
    v2_header = json.dumps(
        {
            "inputs": [
                {
                    "name": "pixels",
                    "shape": [256, 56, 56],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(binary)},
                }
            ]
        }
    ).encode()
    return {
        f"{task} multipart 4 RGBA PNG 2048x2048": (lambda c, u, t=task: c.post(f"{u}/predict/{t}", files=rgba))
        for task in ("multiclass", "multilabel")
    } | {
        "multiclass multipart 4 palette PNG 2048x2048": lambda c, u: c.post(f"{u}/predict/multiclass", files=palette),
        "multiclass multipart 1 noise PNG 2048x2048": lambda c, u: c.post(f"{u}/predict/multiclass", files=noise),
        "multilabel multipart 256 PNG 256x256": lambda c, u: c.post(f"{u}/predict/multilabel", files=small),
        "multiclass JSON 4 b64 RGBA PNG 2048x2048": lambda c, u: c.post(f"{u}/predict/multiclass", json=b64),
        "multilabel JSON 256 canvases": lambda c, u: c.post(f"{u}/predict/multilabel", json=canvases),
        "V2 multilabel 256 canvases binary": lambda c, u: c.post(
            f"{u}/v2/models/mnist-multilabel/infer",
            content=v2_header + binary,
            headers={"inference-header-content-length": str(len(v2_header))},
        ),
    }


def main() -> int:
    port = free_port()
    server = start_server(Server("service", "service"), port, "1", REPO / "models")
    url = f"http://127.0.0.1:{port}"
    worst = 0.0
    try:
        print(f"| request (service on one core, default limits) | median s | worst s | of {ROUNDS} |")
        print("|---|---:|---:|---:|")
        with httpx.Client(timeout=60) as client:
            for name, send in cases().items():
                seconds = []
                for _ in range(ROUNDS):
                    start = time.perf_counter()
                    response = send(client, url)
                    seconds.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        print(f"{name}: {response.status_code} {response.text[:200]}", file=sys.stderr)
                        return 1
                worst = max(worst, max(seconds))
                print(f"| {name} | {statistics.median(seconds):.3f} | {max(seconds):.3f} | {ROUNDS} |")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"worst {worst:.3f} s against a target of {TARGET_S} s: {'met' if worst <= TARGET_S else 'MISSED'}")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
