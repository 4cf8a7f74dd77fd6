"""The command line: bad input fails fast with one line and status 2; a small real run ships complete models."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from contract_checks import check_model_folder, onnx_logits

from training.data import Mnist

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models"


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under `folder`."""
    return {
        str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_cli(*args: str, timeout: float = 60, cwd: Path = REPO) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "training", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# each bad command line, and what its one error line must name: the flag blamed and the value or file at fault
BAD_INPUTS = {
    "missing-data": (["--data", "{tmp}/nowhere.npz"], ["--data", "{tmp}/nowhere.npz"]),
    "corrupt-data": (["--data", "{tmp}/corrupt.npz"], ["--data", "{tmp}/corrupt.npz"]),
    "idx-folder-without-files": (["--data", "{tmp}/idx"], ["--data", "{tmp}/idx", "train-images-idx3-ubyte.gz"]),
    "unknown-arch": (["--arch", "resnet"], ["--arch", "resnet"]),
    "out-not-writable": (["--out", "{tmp}/a-file/models"], ["--out", "{tmp}/a-file/models"]),
    "mlp-for-multilabel": (["--arch", "mlp", "--model", "multilabel"], ["--arch mlp", "--model multiclass"]),
    "zero-epochs": (["--epochs", "0"], ["--epochs", "'0'"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_naming_the_flag_and_status_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "idx").mkdir()
    args, blamed = BAD_INPUTS[case]
    before = snapshot(SHIPPED)
    result = run_cli(*(arg.format(tmp=tmp_path) for arg in args), timeout=30)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m training: error: "), result.stderr
    for words in blamed:
        assert words.format(tmp=tmp_path) in lines[0], lines[0]
    assert snapshot(SHIPPED) == before


def test_help_documents_where_the_mlp_goes() -> None:
    result = run_cli("--help", timeout=30)
    assert result.returncode == 0, result.stderr
    sentences = " ".join(result.stdout.split()).split(". ")
    assert any("--arch mlp" in sentence and "build/models/" in sentence for sentence in sentences), result.stdout


def test_small_end_to_end_run_ships_complete_models(tmp_path: Path, mnist: Mnist) -> None:
    before = snapshot(SHIPPED)
    out = tmp_path / "models"
    result = run_cli("--limit", "2000", "--epochs", "2", "--out", str(out), "--seed", "1", timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "━" in result.stdout  # Keras' progress bar
    for name in ("mnist-multiclass", "mnist-multilabel"):
        card = check_model_folder(out / name, name)
        assert card.training["seed"] == 1 and card.training["train_size"] == 2000
        assert "--limit 2000" in card.training["command"]
    logits = onnx_logits(out / "mnist-multiclass", mnist.x_test[:500])
    # two short epochs already learn something: chance is 0.1; with outlier exposure (28 % of each tiny epoch
    # is generated non-digits) this run lands near 0.45, the full run at 0.994
    assert np.mean(logits.argmax(axis=1) == mnist.y_test[:500]) > 0.3
    assert snapshot(SHIPPED) == before


def test_mlp_reference_trains_with_the_same_command_into_build_models(tmp_path: Path) -> None:
    result = run_cli("--arch", "mlp", "--limit", "2000", "--epochs", "1", timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "build" / "models"  # the default --help documents, never the shipped models/
    assert [p.name for p in tmp_path.iterdir()] == ["build"]
    assert [p.name for p in out.iterdir()] == ["mnist-multiclass"]
    card = check_model_folder(out / "mnist-multiclass", "mnist-multiclass")
    assert card.training["arch"] == "mlp" and "accuracy" in result.stdout
