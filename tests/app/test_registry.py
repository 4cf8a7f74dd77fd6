"""The model registry: verifies every model before it serves, and says what is wrong."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import ModelLoadError, ModelNotFound, ModelNotReady
from app.core.registry import ModelRegistry
from tests.app.conftest import SHIPPED_MODELS


def test_loads_the_shipped_models() -> None:
    registry = ModelRegistry(SHIPPED_MODELS, threads=1)
    assert not registry.ready
    with pytest.raises(ModelNotReady):
        registry.get("mnist-multiclass")
    registry.load()
    assert registry.ready
    assert registry.names() == ["mnist-multiclass", "mnist-multilabel"]
    model = registry.for_task("multiclass")
    assert model.logits(np.zeros((3, 28, 28), dtype=np.float32)).shape == (3, 10)
    with pytest.raises(ModelNotFound):
        registry.get("nope")


def _load_error(models_dir: Path) -> str:
    with pytest.raises(ModelLoadError) as raised:
        ModelRegistry(models_dir, threads=1).load()
    return str(raised.value)


def test_a_changed_onnx_file_is_refused_by_its_sha256(models_dir: Path) -> None:
    onnx_file = models_dir / "mnist-multiclass" / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    message = _load_error(models_dir)
    assert str(onnx_file) in message
    assert "sha256" in message and "does not match" in message


def test_a_corrupt_onnx_file_with_matching_sha256_is_refused(models_dir: Path) -> None:
    folder = models_dir / "mnist-multilabel"
    (folder / "model.onnx").write_bytes(b"this is not onnx")
    metadata = json.loads((folder / "model.json").read_text())
    metadata["onnx_sha256"] = hashlib.sha256(b"this is not onnx").hexdigest()
    (folder / "model.json").write_text(json.dumps(metadata))
    message = _load_error(models_dir)
    assert "model.onnx" in message and "onnxruntime cannot load it" in message


def test_a_missing_onnx_file_is_refused(models_dir: Path) -> None:
    (models_dir / "mnist-multiclass" / "model.onnx").unlink()
    assert "model.onnx: file is missing" in _load_error(models_dir)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda meta: meta.pop("onnx_sha256"), "missing key 'onnx_sha256'"),
        (lambda meta: meta.update(task="regression"), "task must be one of multiclass, multilabel, got 'regression'"),
        (lambda meta: meta.update(activation="sigmoid"), "activation: Input should be 'softmax', got 'sigmoid'"),
        (lambda meta: meta.update(temperature=0), "temperature: must be > 0"),
        (lambda meta: meta.pop("ood"), "missing key 'ood'"),
        (lambda meta: meta["ood"].update(score="softmax"), "ood.score: Input should be 'energy', got 'softmax'"),
        (lambda meta: meta["ood"].update(threshold="high"), "ood.threshold: Input should be a valid number"),
        (lambda meta: meta["input"].update(name="image"), "has no input 'image'"),
        (lambda meta: meta.pop("probes"), "has no 'probes': add them with `python -m training.probes"),
        (lambda meta: meta["probes"]["pixels"].update(shape=[4, 56, 56]), "probe pixels must be uint8 [N, 28, 28]"),
        (lambda meta: meta["probes"]["logits"].pop(), "probe logits must be [4, 10]"),
        (lambda meta: meta["probes"]["logits"][2].__setitem__(5, 3.0), "probe 2 logits differ from model.json"),
    ],
)
def test_wrong_metadata_is_refused_with_the_reason(models_dir: Path, change, reason: str) -> None:
    path = models_dir / "mnist-multiclass" / "model.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))
    assert reason in _load_error(models_dir)


def test_unreadable_metadata_and_empty_folders_are_refused(models_dir: Path, tmp_path: Path) -> None:
    assert "no <name>/model.json found" in _load_error(tmp_path / "models" / "mnist-multiclass")
    assert "models folder does not exist" in _load_error(tmp_path / "absent")
    (models_dir / "mnist-multilabel" / "model.json").write_text("{ not json")
    assert "not valid JSON" in _load_error(models_dir)


def test_two_models_for_one_task_are_refused_naming_both(models_dir: Path) -> None:
    second = Path(shutil.copytree(models_dir / "mnist-multiclass", models_dir / "second-digits"))
    card = json.loads((second / "model.json").read_text())
    card["name"] = "second-digits"
    (second / "model.json").write_text(json.dumps(card))
    message = _load_error(models_dir)  # the problem (a second model for the task) and the folder, not exact wording
    assert str(second) in message and "mnist-multiclass" in message and re.search(r"(?<!-)multiclass", message)


def test_a_model_json_whose_name_is_not_its_folder_is_refused(models_dir: Path) -> None:
    folder = (models_dir / "mnist-multiclass").rename(models_dir / "digits")
    message = _load_error(models_dir)
    assert str(folder / "model.json") in message and "mnist-multiclass" in message and "folder" in message


def test_a_failed_reload_leaves_the_loaded_models_serving(models_dir: Path) -> None:
    registry = ModelRegistry(models_dir, threads=1)
    registry.load()
    before = registry.for_task("multiclass")
    path = models_dir / "mnist-multiclass" / "model.json"
    metadata = json.loads(path.read_text())
    metadata["probes"]["logits"][0][0] += 0.01
    path.write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="probe 0 logits differ"):
        registry.load()
    assert registry.for_task("multiclass") is before
    metadata["version"] = "1.0.1"
    metadata["probes"]["logits"][0][0] -= 0.01
    path.write_text(json.dumps(metadata))
    registry.load()
    assert registry.for_task("multiclass").spec.version == "1.0.1"
    assert [model.spec.name for model in registry.models()] == ["mnist-multiclass", "mnist-multilabel"]
