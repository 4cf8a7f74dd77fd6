"""Train, calibrate, evaluate, export and install one model."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.core.model_card import CARD_FILE, ONNX_FILE, ModelCard
from training import evaluate, export
from training.data import Mnist
from training.models import BUILDERS
from training.tasks import TRAINING_TASKS, EpochDraw, TrainingTask

BATCH_SIZE = 128
LEARNING_RATE = 2e-3
EARLY_STOPPING_PATIENCE = 6


@dataclass(frozen=True)
class RunConfig:
    """One training run as the command line asked for it."""

    task: str
    arch: str
    epochs: int
    seed: int
    limit: int | None
    out: Path
    command: str


@dataclass(frozen=True)
class RunResult:
    """Where the model went and its card."""

    name: str
    arch: str
    folder: Path
    card: ModelCard


class EpochData(keras.utils.PyDataset):
    """Batches of a training set that is drawn afresh, from a seed, at every epoch."""

    def __init__(self, draw_epoch: EpochDraw, batch_size: int) -> None:
        super().__init__()
        self.draw_epoch = draw_epoch
        self.batch_size = batch_size
        self.epoch = 0
        self.x, self.y = draw_epoch(self.epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[batch].astype(np.float32), self.y[batch]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.x, self.y = self.draw_epoch(self.epoch)


def compile_model(task: TrainingTask, arch: str, steps: int) -> keras.Model:
    """Build the network and attach the task's from-logits loss, a cosine-decayed Adam and a logits-aware metric."""
    model = BUILDERS[(task.serving.name, arch)]()
    loss, metric = task.loss_and_metric()
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=[metric])
    return model


def run(config: RunConfig, mnist: Mnist) -> RunResult:
    """Train one model, calibrate on validation, score on test, export, check parity and install it."""
    task = TRAINING_TASKS[config.task]
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    started = time.monotonic()
    data = task.data(config.arch, mnist, config.seed, config.limit)
    stream = EpochData(data.draw_epoch, BATCH_SIZE)
    model = compile_model(task, config.arch, steps=config.epochs * len(stream))
    print(
        f"== {task.model_name} ({config.arch}): {model.count_params()} parameters, "
        f"{data.described['train_size']} training samples per epoch",
        flush=True,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, restore_best_weights=True
    )
    history = model.fit(
        stream,
        validation_data=(data.validation.x.astype(np.float32), data.validation.y),
        epochs=config.epochs,
        callbacks=[early_stopping],
        verbose=1,
    ).history

    def logits(pixels: np.ndarray) -> np.ndarray:
        return model.predict(pixels.astype(np.float32), batch_size=1000, verbose=0)

    val_logits, test_logits = logits(data.validation.x), logits(data.test.x)
    calibrated = task.calibrate(val_logits, data.validation)
    metrics, family_scores = task.score(calibrated, test_logits, data.test, logits, mnist, config.seed)
    with tempfile.TemporaryDirectory(prefix=f"{task.model_name}-") as staging_name:
        staging = Path(staging_name)
        onnx_path = staging / ONNX_FILE
        export.export_onnx(model, onnx_path)
        parity = export.check_parity(test_logits, export.onnx_logits(onnx_path, data.test.x), calibrated.task.decisions)
        if not parity.ok:
            raise export.ParityError(
                f"{task.model_name}: ONNX parity failed on {parity.size} test inputs: max |diff| "
                f"{parity.max_abs_diff:.3g} (limit {export.PARITY_ATOL}), {parity.decisions_differ} different "
                f"decisions; {config.out / task.model_name} left untouched"
            )
        training = {
            "command": config.command,
            "seed": config.seed,
            "arch": config.arch,
            "epochs": config.epochs,
            "epochs_run": len(history["loss"]),
            "early_stopping_patience": EARLY_STOPPING_PATIENCE,
            "batch_size": BATCH_SIZE,
            "optimizer": f"adam, cosine decay from {LEARNING_RATE}",
            "loss": f"{type(model.loss).__name__}(from_logits=True)",
            "parameters": model.count_params(),
            "calibrated_on": "validation",
            **data.described,
            "validation_size": len(data.validation.y),
            "parity_max_abs_diff": parity.max_abs_diff,
            "wall_time_s": round(time.monotonic() - started, 1),
            "data_source": mnist.source,
        }
        card = export.model_card(
            task,
            calibration=calibrated.card_fields,
            metrics=metrics,
            training=training,
            onnx_path=onnx_path,
            probe_pixels=task.probe_inputs(mnist),
        )
        evaluate.plot_training_curves(history, f"{card.name} ({config.arch})", staging / "training_curves.png")
        task.write_figures(card, test_logits, data.test, family_scores, staging)
        (staging / CARD_FILE).write_text(card.to_json())
        folder = config.out / task.model_name
        export.install(staging, folder)
    return RunResult(task.model_name, config.arch, folder, card)
