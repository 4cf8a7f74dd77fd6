"""The one way this project opens an ONNX model in onnxruntime: CPU, a fixed thread count, quiet logs."""

from pathlib import Path

import onnxruntime as ort

ERROR_LOGS_ONLY = 3


def open_session(model: bytes | Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session running each call on `threads` threads, one call at a time per thread pool."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = ERROR_LOGS_ONLY
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
