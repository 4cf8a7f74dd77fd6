"""The Open Inference Protocol over gRPC (Triton's inference.GRPCInferenceService): server, servicer, codec,
interceptors and the generated stubs."""
