"""Digit inference service: serves MNIST ONNX models over HTTP without TensorFlow."""

import os

# The service sends no usage data. onnxruntime reads this before it initialises (see its Privacy.md); with
# telemetry on, a read-only home made it print a plain-text warning among the JSON log lines.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "1.0.0"
