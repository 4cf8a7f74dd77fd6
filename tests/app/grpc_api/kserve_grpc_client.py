"""Runs under a separate environment holding KServe's Python client (see the Makefile's test target).

Usage: python kserve_grpc_client.py infer ARGS_JSON -> prints {"live", "ready", "model_ready", "raw", "typed",
"unknown_model"} as JSON: the same images sent as raw bytes (UINT8) and as typed contents (FP32).
"""

import asyncio
import json
import sys
from typing import Any

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest


async def answer(client: InferenceGRPCClient, model: str, pixels: np.ndarray, datatype: str, raw: bool) -> dict:
    tensor = InferInput("pixels", list(pixels.shape), datatype)
    tensor.set_data_from_numpy(pixels.astype(np.uint8 if datatype == "UINT8" else np.float32), binary_data=raw)
    response = await client.infer(InferRequest(model, [tensor], request_id="kserve-1"))
    return {
        "id": response.id,
        "model_name": response.model_name,
        "outputs": {output.name: output.as_numpy().tolist() for output in response.outputs},
    }


async def main(arguments: dict[str, Any]) -> dict[str, Any]:
    client = InferenceGRPCClient(arguments["url"], retries=0, timeout=30)
    model, pixels = arguments["model"], np.load(arguments["pixels"])
    try:
        result: dict[str, Any] = {
            "live": await client.is_server_live(),
            "ready": await client.is_server_ready(),
            "model_ready": await client.is_model_ready(model),
            "raw": await answer(client, model, pixels, "UINT8", raw=True),
            "typed": await answer(client, model, pixels, "FP32", raw=False),
        }
        try:
            await answer(client, "mnist-letters", pixels, "UINT8", raw=True)
            result["unknown_model"] = "answered"
        except grpc.aio.AioRpcError as error:
            result["unknown_model"] = error.code().name
        return result
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[2])))))
