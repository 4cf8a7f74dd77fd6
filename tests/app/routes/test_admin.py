"""POST /admin/reload: verified swaps while serving, failures that leave the old model serving."""

import hashlib
import json
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import onnx
from fastapi.testclient import TestClient
from onnx import helper, numpy_helper

from app.core.probes import decode_probes, make_probes
from app.main import create_app
from tests.app.conftest import free_port, make_settings, start_service, wait_until_ready

ADMIN = {"Authorization": "Bearer admin-secret-for-tests"}
MULTICLASS = "mnist-multiclass"


def write_halved_version(source: Path, target: Path, version: str) -> None:
    """A second, genuinely different version of a multiclass model: its logits halved inside the graph."""
    target.mkdir(parents=True, exist_ok=True)
    graph_model = onnx.load(str(source / "model.onnx"))
    graph = graph_model.graph
    output = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{name}_full" if name == output else name for name in node.output]
    graph.initializer.append(numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"))
    graph.node.append(helper.make_node("Mul", [f"{output}_full", "half"], [output]))
    onnx.save(graph_model, str(target / "model.onnx"))
    card = json.loads((source / "model.json").read_text())
    card["version"] = version
    card["onnx_sha256"] = hashlib.sha256((target / "model.onnx").read_bytes()).hexdigest()
    probe_pixels = decode_probes(card["probes"], (28, 28), 10)[0].astype(np.uint8)
    card["probes"] = make_probes(target / "model.onnx", "pixels", "logits", probe_pixels)
    (target / "model.json").write_text(json.dumps(card))


def install_version(version_folder: Path, model_folder: Path) -> None:
    """Copy a version's files into the repository (model.json last), as an operator would."""
    for name in ("model.onnx", "model.json"):
        shutil.copyfile(version_folder / name, model_folder / f".{name}.incoming")
        (model_folder / f".{name}.incoming").replace(model_folder / name)


def test_admin_is_disabled_without_admin_key_and_needs_it_when_set(models_dir: Path) -> None:
    with TestClient(create_app(make_settings(models_dir))) as client:
        disabled = client.post("/admin/reload", headers=ADMIN)
        assert disabled.status_code == 404 and "ADMIN_KEY is not set" in disabled.json()["detail"]
    with TestClient(
        create_app(make_settings(models_dir, admin_key="admin-secret-for-tests", api_key="user-key-for-tests"))
    ) as client:
        for headers in (
            {},
            {"Authorization": "Bearer user-key-for-tests"},
            {"Authorization": "Bearer admin-secret-for-testS"},
        ):
            refused = client.post("/admin/reload", headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "admin key" in refused.json()["detail"]
        assert client.post("/admin/reload", headers=ADMIN).json()["result"] == "ok"


def test_a_bad_new_version_is_refused_and_the_old_one_keeps_serving(models_dir: Path, test_digits: tuple) -> None:
    digit = {"instances": [test_digits[0][0].tolist()]}
    with TestClient(create_app(make_settings(models_dir, admin_key="admin-secret-for-tests"))) as client:
        before = client.post("/predict/multiclass", json=digit).json()
        assert client.get("/models").json()["last_reload"] is None
        card_path = models_dir / MULTICLASS / "model.json"
        card = json.loads(card_path.read_text())
        card["version"] = "9.9.9"
        card["probes"]["logits"][1][4] += 0.001  # a model that no longer gives the logits training recorded
        card_path.write_text(json.dumps(card))
        failed = client.post("/admin/reload", headers=ADMIN)
        assert failed.status_code == 422
        assert "probe 1 logits differ" in failed.json()["detail"] and str(card_path.parent) in failed.json()["detail"]
        assert client.post("/predict/multiclass", json=digit).json() == before
        last = client.get("/models").json()["last_reload"]
        assert last["result"] == "failed" and "error" not in last and str(models_dir) not in json.dumps(last)
        assert last["models"][MULTICLASS] == "1.0.0" and last["trigger"] == "POST /admin/reload"
        (models_dir / MULTICLASS / "model.onnx").write_bytes(b"not the file model.json hashes")
        assert "sha256" in client.post("/admin/reload", headers=ADMIN).json()["detail"]
        assert client.post("/predict/multiclass", json=digit).json() == before


def test_twenty_clients_see_ten_reloads_without_an_error_and_each_answer_from_one_version(
    models_dir: Path, tmp_path: Path, test_digits: tuple
) -> None:
    versions = {"1.0.0": tmp_path / "v1", "2.0.0": tmp_path / "v2"}
    shutil.copytree(models_dir / MULTICLASS, versions["1.0.0"])
    write_halved_version(models_dir / MULTICLASS, versions["2.0.0"], "2.0.0")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_service(models_dir, port, ADMIN_KEY="admin-secret-for-tests", LOG_LEVEL="warning")
    digits = [{"instances": [image.tolist()]} for image in test_digits[0][:4]]
    answers: list[tuple[int, int, dict]] = []
    stop = threading.Event()

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(1_000_000):
                if stop.is_set():
                    return
                response = client.post("/predict/multiclass", json=digits[i % len(digits)])
                answers.append((i % len(digits), response.status_code, response.json()))

    try:
        wait_until_ready(process, url)
        clients = [threading.Thread(target=client_loop) for _ in range(20)]
        for thread in clients:
            thread.start()
        reloads = []
        with httpx.Client(base_url=url, timeout=60, headers=ADMIN) as admin:
            for round_ in range(10):
                time.sleep(0.4)
                version = "2.0.0" if round_ % 2 == 0 else "1.0.0"
                install_version(versions[version], models_dir / MULTICLASS)
                reloads.append(admin.post("/admin/reload").json())
            time.sleep(0.5)
            stop.set()
            for thread in clients:
                thread.join(timeout=30)
            v2_metadata = httpx.get(f"{url}/v2/models/{MULTICLASS}/versions/1.0.0")
            gone = httpx.get(f"{url}/v2/models/{MULTICLASS}/versions/2.0.0")
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=30)
    assert [reload["result"] for reload in reloads] == ["ok"] * 10
    assert [reload["models"][MULTICLASS] for reload in reloads] == ["2.0.0", "1.0.0"] * 5
    assert Counter(status for _, status, _ in answers) == {200: len(answers)}
    by_version: dict[tuple[str, int], list[float]] = {}
    for digit, _, body in answers:
        key = (body["model"]["version"], digit)
        probabilities = body["predictions"][0]["probabilities"]
        assert by_version.setdefault(key, probabilities) == probabilities  # one version, one answer, never a mix
    assert {version for version, _ in by_version} == set(versions)
    for digit in range(len(digits)):  # the two versions really answer differently
        assert by_version[("1.0.0", digit)] != by_version[("2.0.0", digit)]
    assert len(answers) >= 200
    assert v2_metadata.status_code == 200 and v2_metadata.json()["versions"] == ["1.0.0"]
    assert gone.status_code == 404
