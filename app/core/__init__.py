"""Protocol-neutral: models, tensors in, answers out. No web, gRPC, protobuf or prometheus imports."""
