"""A small gRPC load generator, the gRPC counterpart of wrk: ModelInfer from C concurrent callers for S seconds.

The request is serialized once and answers are left as bytes (as a load generator in C would cost next to
nothing per call); the first answer is decoded and checked. All callers share one channel (one HTTP/2
connection, as one client would), or one channel each with --channels.

Usage: python -m bench.grpc_load TARGET MODEL PIXELS.npy CONCURRENCY SECONDS [--channels N]
(PIXELS.npy: the images of one request, uint8 [N, H, W])
-> prints {"requests_per_s", "p50_ms", "p99_ms", "errors"} as JSON.
"""

import argparse
import asyncio
import json
import time
from typing import Any

import grpc
import numpy as np

from app.transports.grpc.generated import grpc_service_pb2 as pb

METHOD = "/inference.GRPCInferenceService/ModelInfer"
WARM_UP_S = 0.5


def infer_request(model: str, pixels: np.ndarray) -> bytes:
    """A serialized ModelInferRequest of the images as raw UINT8, every output asked."""
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="pixels", datatype="UINT8", shape=list(pixels.shape))
    request.raw_input_contents.append(pixels.tobytes())
    return request.SerializeToString()


async def load(target: str, body: bytes, images: int, concurrency: int, seconds: float, channels: int) -> dict:
    """Run the callers for a warm-up, then `seconds`; requests/s, latency percentiles and errors."""
    opened = [grpc.aio.insecure_channel(target) for _ in range(channels)]
    calls: list[grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]] = [channel.unary_unary(METHOD) for channel in opened]
    first = pb.ModelInferResponse.FromString(await calls[0](body))
    assert first.outputs[0].shape[0] == images, first
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.perf_counter() + WARM_UP_S + seconds

    async def caller(index: int) -> None:
        nonlocal errors
        call = calls[index % channels]
        while (start := time.perf_counter()) < stop_at:
            try:
                await call(body)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            if measuring:
                latencies.append(time.perf_counter() - start)

    async def start_measuring() -> None:
        nonlocal measuring
        await asyncio.sleep(WARM_UP_S)
        measuring = True

    await asyncio.gather(start_measuring(), *(caller(index) for index in range(concurrency)))
    elapsed = time.perf_counter() - (stop_at - seconds)
    for channel in opened:
        await channel.close()
    milliseconds = np.array(latencies) * 1000
    return {
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(milliseconds, 50)),
        "p99_ms": float(np.percentile(milliseconds, 99)),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("model")
    parser.add_argument("pixels")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--channels", type=int, default=1)
    args = parser.parse_args()
    pixels = np.load(args.pixels).astype(np.uint8)
    result: dict[str, Any] = asyncio.run(
        load(args.target, infer_request(args.model, pixels), len(pixels), args.concurrency, args.seconds, args.channels)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
