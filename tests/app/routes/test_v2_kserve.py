"""KServe's own Python REST client against the service.

KServe 0.21 pins protobuf 6 while the training stack needs protobuf 7, so the client lives in its
own environment (`make test` builds .venv-kserve and sets KSERVE_PYTHON) and runs as a child process.
"""

import json
import os
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

CLIENT = Path(__file__).with_name("kserve_client.py")


@pytest.mark.skipif("KSERVE_PYTHON" not in os.environ, reason="KServe's client runs through `make test`")
def test_kserve_rest_client_gets_the_same_probabilities_as_predict(
    server: str, test_digits: tuple, tmp_path: Path
) -> None:
    images, labels = test_digits[0][:16], test_digits[1][:16]
    np.save(tmp_path / "pixels.npy", images)
    result = subprocess.run(
        [os.environ["KSERVE_PYTHON"], str(CLIENT), server, str(tmp_path / "pixels.npy")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["live"] and answer["ready"]
    assert np.mean(np.array(answer["labels"]) == labels) >= 0.9
    predicted = httpx.post(f"{server}/predict/multiclass", json={"instances": images.tolist()}).json()
    np.testing.assert_allclose(
        answer["probabilities"], [p["probabilities"] for p in predicted["predictions"]], rtol=1e-6, atol=1e-7
    )
