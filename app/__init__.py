"""Digit inference service: serves MNIST ONNX models over HTTP without TensorFlow."""

__version__ = "1.0.0"
