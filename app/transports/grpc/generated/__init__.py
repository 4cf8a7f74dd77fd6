"""protoc's output for Triton's grpc_service.proto and model_config.proto (see README.md here); `make grpc-stubs`."""
