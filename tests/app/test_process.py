"""`python -m app` as a real process, over real HTTP."""

from pathlib import Path

import httpx
import numpy as np

from tests.app.conftest import SHIPPED_MODELS, free_port, start_service


def test_the_started_process_classifies_a_real_digit(server: str, test_digits: tuple) -> None:
    image, label = test_digits[0][5], int(test_digits[1][5])
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    response = httpx.post(f"{server}/predict/multiclass", json={"instances": [image.tolist()]})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == label
    bad = httpx.post(f"{server}/predict/multiclass", content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and "not valid JSON" in bad.json()["detail"]
    assert httpx.post(f"{server}/predict/multiclass", json={"instances": [np.zeros(784).tolist()]}).status_code == 200


def test_the_started_process_tells_digits_from_blank_and_noise(server: str, test_digits: tuple) -> None:
    blank = [np.zeros((28, 28)), np.full((28, 28), 255)]
    noise = list(np.random.default_rng(1).integers(0, 256, size=(4, 28, 28)))
    digits = list(test_digits[0][:20])
    instances = [image.tolist() for image in blank + noise + digits]
    response = httpx.post(f"{server}/predict/multiclass", json={"instances": instances})
    assert response.status_code == 200
    verdicts = [prediction["is_digit"] for prediction in response.json()["predictions"]]
    assert verdicts == [False] * 6 + [True] * 20


def test_a_corrupt_model_stops_start_up_with_one_clear_line(models_dir: Path) -> None:
    onnx_file = models_dir / "mnist-multilabel" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:1000])
    process = start_service(models_dir, free_port())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = stderr.strip().splitlines()
    assert lines == [lines[-1]] and "Traceback" not in stderr
    assert lines[0].startswith("error: cannot start: ")
    assert str(onnx_file) in lines[0] and "sha256" in lines[0]


def test_a_bad_setting_stops_start_up_with_one_clear_line() -> None:
    process = start_service(SHIPPED_MODELS, free_port(), MAX_INSTANCES="lots")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith("error: invalid setting: MAX_INSTANCES:")


def test_a_model_json_that_is_not_utf8_stops_start_up_with_one_clear_line(models_dir: Path) -> None:
    metadata = models_dir / "mnist-multiclass" / "model.json"
    metadata.write_bytes(b'{"name": "\xff\xfe"}')
    process = start_service(models_dir, free_port())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        f"error: cannot start: {metadata}: not UTF-8 text: invalid start byte at byte 10"
    ]
