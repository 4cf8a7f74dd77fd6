"""`python -m training.probes`: adds probe inferences to an existing model folder."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.core.probes import decode_probes
from app.core.registry import load_model
from training.data import Mnist
from training.probes import main

SHIPPED = Path(__file__).resolve().parents[2] / "models"


def test_adds_probes_from_the_onnx_file_without_changing_it(tmp_path: Path, mnist: Mnist) -> None:
    names = ("mnist-multiclass", "mnist-multilabel")
    folders = [Path(shutil.copytree(SHIPPED / name, tmp_path / name)) for name in names]
    for folder in folders:
        card = json.loads((folder / "model.json").read_text())
        del card["probes"]
        (folder / "model.json").write_text(json.dumps(card))
    onnx_before = [(folder / "model.onnx").read_bytes() for folder in folders]
    assert main([str(folder) for folder in folders]) == 0
    assert [(folder / "model.onnx").read_bytes() for folder in folders] == onnx_before
    multiclass = json.loads((folders[0] / "model.json").read_text())
    pixels, logits = decode_probes(multiclass["probes"], (28, 28), 10)
    np.testing.assert_array_equal(pixels, mnist.x_test[: len(pixels)])
    assert list(logits.argmax(axis=1)) == list(mnist.y_test[: len(pixels)])
    for folder in folders:
        assert load_model(folder, threads=1).spec.name == folder.name  # the service accepts the probes


def test_a_folder_without_a_model_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path) in err
