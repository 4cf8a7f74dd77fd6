"""KServe's own gRPC client (InferenceGRPCClient, its grpc_predict_v2 stubs) against the service as a process.

KServe 0.21 pins protobuf 6, so the client lives in .venv-kserve (`make test` sets KSERVE_PYTHON) and runs as a
child process: see kserve_grpc_client.py.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from tests.app.grpc_api.conftest import Service, assert_same_outputs, rest_v2, run_client

CLIENT = Path(__file__).with_name("kserve_grpc_client.py")


@pytest.mark.skipif("KSERVE_PYTHON" not in os.environ, reason="KServe's client runs through `make test`")
@pytest.mark.parametrize("model", ["mnist-multiclass", "mnist-multilabel"])
def test_kserve_grpc_client_gets_what_rest_v2_answers(
    grpc_service: Service, test_digits: tuple, test_canvases: tuple, tmp_path: Path, model: str
) -> None:
    pixels = test_digits[0][:16] if model == "mnist-multiclass" else test_canvases[0][:8]
    np.save(tmp_path / "pixels.npy", pixels)
    answer = run_client(
        "KSERVE_PYTHON", CLIENT, "infer", url=grpc_service.target, model=model, pixels=str(tmp_path / "pixels.npy")
    )
    assert answer["live"] and answer["ready"] and answer["model_ready"]
    assert answer["unknown_model"] == "NOT_FOUND"
    expected = rest_v2(grpc_service, model, pixels, "UINT8")
    for sent in ("raw", "typed"):
        assert (answer[sent]["id"], answer[sent]["model_name"]) == ("kserve-1", model)
        assert_same_outputs(answer[sent]["outputs"], expected)
