"""Runs under a separate environment holding KServe's Python client (see the Makefile's test target).

Usage: python kserve_client.py BASE_URL PIXELS.npy -> prints {"live", "ready", "labels", "probabilities"} as JSON.
"""

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


async def main(base_url: str, pixels: np.ndarray) -> dict:
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    try:
        tensor = InferInput("pixels", list(pixels.shape), "UINT8")
        tensor.set_data_from_numpy(pixels, binary_data=True)
        response = await client.infer(
            base_url, InferRequest("mnist-multiclass", [tensor]), model_name="mnist-multiclass"
        )
        outputs = {output.name: output.as_numpy() for output in response.outputs}
        return {
            "live": await client.is_server_live(base_url),
            "ready": await client.is_model_ready(base_url, "mnist-multiclass"),
            "labels": outputs["label"].tolist(),
            "probabilities": outputs["probabilities"].tolist(),
        }
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], np.load(sys.argv[2])))))
