"""inference.GRPCInferenceService: each RPC converts its message (app.transports.grpc.codec), calls the data plane
and converts the answer back. No try/except: errors reach the interceptor, which maps them to status codes."""

import numpy as np

from app import __version__
from app.core.admission import body_cost
from app.core.budgets import RequestBudget
from app.core.dataplane import SERVER_NAME, find_model, infer, is_ready, model_metadata
from app.core.offload import INLINE_BODY_BYTES
from app.core.oip import OutputTensor
from app.core.registry import Model
from app.operations.services import Services
from app.transports.grpc import codec
from app.transports.grpc.codec import Context, Handler
from app.transports.grpc.generated import grpc_service_pb2 as pb
from app.transports.grpc.interceptors import note_model


class InferenceServicer:
    """The RPCs this service implements; every other one of Triton's proto answers UNIMPLEMENTED."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.cost = body_cost(services.settings.max_instances, services.settings.max_body_bytes)

    def handlers(self) -> dict[str, Handler]:
        """The implemented RPCs, by name."""
        return {
            "ServerLive": self.ServerLive,
            "ServerReady": self.ServerReady,
            "ModelReady": self.ModelReady,
            "ServerMetadata": self.ServerMetadata,
            "ModelMetadata": self.ModelMetadata,
            "ModelConfig": self.ModelConfig,
            "ModelInfer": self.ModelInfer,
        }

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Context) -> pb.ServerLiveResponse:
        return codec.live(True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Context) -> pb.ServerReadyResponse:
        return codec.ready(is_ready(self.services.registry, self.services.draining))

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Context) -> pb.ModelReadyResponse:
        find_model(self.services.registry, request.name, request.version)
        return codec.model_ready(True)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Context) -> pb.ServerMetadataResponse:
        return codec.server_metadata(SERVER_NAME, __version__)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Context) -> pb.ModelMetadataResponse:
        return codec.model_metadata(model_metadata(find_model(self.services.registry, request.name, request.version)))

    async def ModelConfig(self, request: pb.ModelConfigRequest, context: Context) -> pb.ModelConfigResponse:
        model = find_model(self.services.registry, request.name, request.version)
        return codec.model_config(model.spec, self.services.settings.max_instances)

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Context) -> pb.ModelInferResponse:
        model = find_model(self.services.registry, request.model_name, request.model_version)
        # The same memory budget as REST's admission, for what the message becomes (gRPC has read it whole by now).
        async with self.services.memory.reservation(self.cost.of(codec.message_size(request), compressed=False)):
            tensors = await self._decode_and_infer(model, request)
        return codec.infer_response(model.spec, request.id, tensors)

    async def _decode_and_infer(self, model: Model, request: pb.ModelInferRequest) -> list[OutputTensor]:
        """What a call holds memory for: its message decoded into pixels, and the model run on them."""
        budget = RequestBudget(self.services.settings.request_limits)

        def decode() -> tuple[np.ndarray, list[str]]:
            return codec.decode_infer_request(request, model.spec, budget)

        if codec.message_size(request) > INLINE_BODY_BYTES:
            pixels, outputs = await self.services.pool.run(decode)
        else:
            pixels, outputs = decode()
        self.services.metrics.observe_instances(model.spec.name, len(pixels))
        note_model(model.spec, len(pixels))
        return await infer(model, pixels, outputs)
