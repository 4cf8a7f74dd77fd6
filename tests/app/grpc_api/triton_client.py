"""Runs under a separate environment holding tritonclient[grpc] (see the Makefile's test target): its protobuf 6
and its `inference.*` stubs cannot share a process with the service's.

Usage: python triton_client.py COMMAND ARGS_JSON -> prints the answer as JSON; a call the server refused prints
{"error": {"code": "NOT_FOUND", "message": ...}}. Commands: health, infer, raw_infer (a hand-built request:
typed contents, mixed contents), load (many calls from many threads).
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2
from tritonclient.utils import InferenceServerException

DATATYPES = {
    "FP32": np.float32,
    "FP64": np.float64,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
}


def refused(error: InferenceServerException) -> dict[str, Any]:
    return {"error": {"code": error.status().removeprefix("StatusCode."), "message": error.message()}}


def headers_of(args: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {args['key']}"} if "key" in args else {}


def health(client: grpcclient.InferenceServerClient, args: dict[str, Any]) -> dict[str, Any]:
    headers = headers_of(args)
    model = args["model"]
    answer: dict[str, Any] = {
        "live": client.is_server_live(headers=headers),
        "ready": client.is_server_ready(headers=headers),
        "model_ready": client.is_model_ready(model, headers=headers),
        "server": client.get_server_metadata(headers=headers, as_json=True),
        "metadata": client.get_model_metadata(model, headers=headers, as_json=True),
        "config": client.get_model_config(model, headers=headers, as_json=True)["config"],
    }
    version = answer["metadata"]["versions"][0]
    answer["version_ready"] = client.is_model_ready(model, version, headers=headers)
    for name, call in {
        "unknown_model": lambda: client.is_model_ready("mnist-letters", headers=headers),
        "unknown_version": lambda: client.get_model_metadata(model, "999", headers=headers),
        "unknown_config": lambda: client.get_model_config("mnist-letters", headers=headers),
        "statistics": lambda: client.get_inference_statistics(model, headers=headers),
    }.items():
        try:
            call()
            answer[name] = "answered"
        except InferenceServerException as error:
            answer[name] = refused(error)
    return answer


def infer_once(client: grpcclient.InferenceServerClient, args: dict[str, Any], pixels: np.ndarray) -> dict[str, Any]:
    tensor = grpcclient.InferInput(args.get("input", "pixels"), list(pixels.shape), args["datatype"])
    tensor.set_data_from_numpy(pixels)
    outputs = [grpcclient.InferRequestedOutput(name) for name in args.get("outputs", [])] or None
    try:
        result = client.infer(
            args["model"],
            [tensor],
            model_version=args.get("version", ""),
            outputs=outputs,
            request_id=args.get("id", ""),
            headers=headers_of(args),
            compression_algorithm=args.get("compression"),
        )
    except InferenceServerException as error:
        return refused(error)
    response = result.get_response()
    return {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "id": response.id,
        "names": [output.name for output in response.outputs],
        "outputs": {output.name: result.as_numpy(output.name).tolist() for output in response.outputs},
        "datatypes": {output.name: output.datatype for output in response.outputs},
    }


def infer(client: grpcclient.InferenceServerClient, args: dict[str, Any]) -> dict[str, Any]:
    pixels = np.load(args["pixels"]).astype(DATATYPES[args["datatype"]])
    return infer_once(client, args, pixels)


def raw_infer(client: grpcclient.InferenceServerClient, args: dict[str, Any]) -> dict[str, Any]:
    """A request built by hand: `contents` {field: values} and/or `raw` (hex bytes), as given."""
    request = service_pb2.ModelInferRequest(model_name=args["model"], id=args.get("id", ""))
    tensor = request.inputs.add(name="pixels", datatype=args["datatype"], shape=args["shape"])
    for field, values in args.get("contents", {}).items():
        getattr(tensor.contents, field).extend(values)
    if "raw" in args:
        request.raw_input_contents.append(bytes.fromhex(args["raw"]))
    try:
        response = client._client_stub.ModelInfer(request=request, metadata=tuple(headers_of(args).items()))
    except Exception as error:  # grpc.RpcError: this client's own stub, called directly
        return {"error": {"code": error.code().name, "message": error.details()}}
    return {
        "names": [output.name for output in response.outputs],
        "probabilities": np.frombuffer(response.raw_output_contents[1], dtype="<f4").tolist(),
    }


def load(client: grpcclient.InferenceServerClient, args: dict[str, Any]) -> dict[str, Any]:
    """args["calls"] calls from args["threads"] threads on one client, each one image; the labels, in order."""
    pixels = np.load(args["pixels"]).astype(np.uint8)

    def one(index: int) -> int:
        answer = infer_once(client, {**args, "datatype": "UINT8", "outputs": ["label"]}, pixels[index : index + 1])
        return int(answer["outputs"]["label"][0])

    with ThreadPoolExecutor(args["threads"]) as pool:
        labels = list(pool.map(one, [index % len(pixels) for index in range(args["calls"])]))
    return {"labels": labels}


COMMANDS = {"health": health, "infer": infer, "raw_infer": raw_infer, "load": load}

if __name__ == "__main__":
    command, arguments = sys.argv[1], json.loads(sys.argv[2])
    triton = grpcclient.InferenceServerClient(arguments["url"])
    try:
        print(json.dumps(COMMANDS[command](triton, arguments)))
    finally:
        triton.close()
