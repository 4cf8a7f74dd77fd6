"""The gRPC server around its RPCs, with the service's own stubs: health checking, request ids, metrics, the
access log, graceful shutdown and several workers on one port. (No tritonclient here: its stubs would clash.)"""

import asyncio
import json
import re
import signal
import socket

import grpc
import httpx
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from app.transports.grpc.generated import grpc_service_pb2 as pb
from app.transports.grpc.generated.grpc_service_pb2_grpc import GRPCInferenceServiceStub
from tests.app.conftest import SHIPPED_MODELS, free_port, start_service
from tests.app.grpc_api.conftest import Service, start_grpc_service

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def infer_request(images: np.ndarray, model: str = "mnist-multiclass") -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="pixels", datatype="UINT8", shape=list(images.shape))
    request.raw_input_contents.append(images.astype(np.uint8).tobytes())
    return request


def health_status(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_health_request_ids_and_metrics(grpc_service: Service, test_digits: tuple) -> None:
    assert health_status(grpc_service.target) == health_pb2.HealthCheckResponse.SERVING
    with grpc.insecure_channel(grpc_service.target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        answer, call = stub.ModelInfer.with_call(infer_request(test_digits[0][:3]), metadata=[("x-request-id", "r-1")])
        assert np.frombuffer(answer.raw_output_contents[2], dtype="<i8").tolist() == test_digits[1][:3].tolist()
        assert dict(call.initial_metadata())["x-request-id"] == "r-1"
        _, unnamed = stub.ServerLive.with_call(pb.ServerLiveRequest())
        assert GENERATED_ID.fullmatch(dict(unnamed.initial_metadata())["x-request-id"])
        with pytest.raises(grpc.RpcError) as bad:
            stub.ModelInfer(infer_request(np.zeros((1, 28, 27))))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert dict(bad.value.initial_metadata())["x-request-id"]
    metrics = httpx.get(f"{grpc_service.url}/metrics").text
    assert re.search(r'grpc_requests_total\{code="OK",method="ModelInfer"\} [1-9]', metrics)
    assert re.search(r'grpc_requests_total\{code="INVALID_ARGUMENT",method="ModelInfer"\} [1-9]', metrics)
    assert 'grpc_request_duration_seconds_count{method="ServerLive"}' in metrics


def test_the_access_log_has_a_line_per_call_like_rest() -> None:
    service = start_grpc_service(ACCESS_LOG="true", LOG_FORMAT="json", LOG_LEVEL="info")
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = GRPCInferenceServiceStub(channel)
            stub.ModelInfer(infer_request(np.zeros((2, 28, 28))), metadata=[("x-request-id", "logged-1")])
            with pytest.raises(grpc.RpcError):
                stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"))
    finally:
        service.process.terminate()
        _, stderr = service.process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines()]
    access = [line for line in lines if line["logger"] == "app.access"]
    infer = next(line for line in access if line["request_id"] == "logged-1")
    assert infer["status"] == "OK" and infer["route"] == "/inference.GRPCInferenceService/ModelInfer"
    assert (infer["model"], infer["instances"]) == ("mnist-multiclass", 2)
    assert '"GRPC /inference.GRPCInferenceService/ModelInfer" OK' in infer["message"]
    assert any(line["status"] == "NOT_FOUND" for line in access)


async def _calls_across_sigterm(service: Service, images: np.ndarray) -> tuple[list, grpc.StatusCode]:
    """Start 16 calls and SIGTERM the service once each has begun (its initial metadata, sent first, has come
    back); their answers, and the code of a call made after the signal."""
    async with grpc.aio.insecure_channel(service.target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        calls = [stub.ModelInfer(infer_request(images)) for _ in range(16)]
        for call in calls:
            await call.initial_metadata()
        service.process.send_signal(signal.SIGTERM)
        answers = [await call for call in calls]
        await asyncio.sleep(0.5)
        try:
            await stub.ModelInfer(infer_request(images[:1]), timeout=5)
            after = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            after = error.code()
    return answers, after


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_calls_in_flight_finish_and_refuses_new_ones(workers: str, test_digits: tuple) -> None:
    service = start_grpc_service(WORKERS=workers, SHUTDOWN_TIMEOUT_S="20")
    images = test_digits[0][:256]
    try:
        answers, after = asyncio.run(_calls_across_sigterm(service, images))
        assert all(np.frombuffer(a.raw_output_contents[2], dtype="<i8").shape == (256,) for a in answers)
        assert after == grpc.StatusCode.UNAVAILABLE
        assert service.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()


def test_a_taken_grpc_port_or_the_rest_port_stops_start_up_with_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_service(SHIPPED_MODELS, free_port(), GRPC_PORT=str(port))
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        f"error: cannot start: GRPC_PORT {port} on 127.0.0.1: [Errno 98] Address already in use"
    ]
    same = free_port()
    process = start_service(SHIPPED_MODELS, same, GRPC_PORT=str(same))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        f"error: invalid setting: Value error, GRPC_PORT and PORT are both {same}: "
        "give gRPC a port of its own, or 0 (off)"
    ]


async def _many_large_calls(target: str, images: np.ndarray) -> list[grpc.aio.AioRpcError | None]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        answers = await asyncio.gather(
            *(stub.ModelInfer(infer_request(images)) for _ in range(24)), return_exceptions=True
        )
    return [answer if isinstance(answer, grpc.aio.AioRpcError) else None for answer in answers]


def test_calls_past_max_concurrency_are_unavailable_with_a_retry_hint(test_digits: tuple) -> None:
    service = start_grpc_service(MAX_CONCURRENCY="2")
    try:
        refusals = [error for error in asyncio.run(_many_large_calls(service.target, test_digits[0][:256])) if error]
        assert refusals, "24 concurrent calls of 256 images never found 2 in progress"
        assert {error.code() for error in refusals} == {grpc.StatusCode.UNAVAILABLE}
        assert "MAX_CONCURRENCY" in refusals[0].details()
        assert dict(refusals[0].trailing_metadata())["retry-after"] == "1"
    finally:
        service.process.terminate()
        service.process.wait(timeout=30)


def test_model_infer_reserves_from_the_memory_budget(test_digits: tuple) -> None:
    """A call whose decoded message could never fit the worker's memory budget gets RESOURCE_EXHAUSTED, as REST's
    413; a small one is answered."""
    service = start_grpc_service(MEMORY_BUDGET_BYTES="2000000")
    try:
        with grpc.insecure_channel(service.target) as channel:
            stub = GRPCInferenceServiceStub(channel)
            answer = stub.ModelInfer(infer_request(test_digits[0][:1]))
            assert np.frombuffer(answer.raw_output_contents[2], dtype="<i8").tolist() == test_digits[1][:1].tolist()
            with pytest.raises(grpc.RpcError) as refused:
                stub.ModelInfer(infer_request(test_digits[0][:64]))
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "memory" in refused.value.details()
            assert stub.ModelInfer(infer_request(test_digits[0][:1])).raw_output_contents  # the budget was released
    finally:
        service.process.terminate()
        service.process.wait(timeout=30)
