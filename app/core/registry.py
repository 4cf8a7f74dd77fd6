"""The model repository: finds models under MODELS_DIR, verifies them, runs onnxruntime. No HTTP here."""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.core.batching import AdaptiveBatcher, BatchingPolicy, run_logits
from app.core.errors import ModelLoadError, ModelNotFound, ModelNotReady, quote
from app.core.model_card import CARD_FILE, ONNX_FILE, CardError, ModelCard, read_card, sha256_hex
from app.core.offload import WorkPool
from app.core.probes import ProbeError, decode_probes, probe_mismatch
from app.core.runtime import open_session
from app.core.tasks import TASKS, Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A model's checked card, with what serving reads from it in ready-to-use form."""

    card: ModelCard
    task: Task
    probe_pixels: np.ndarray
    probe_logits: np.ndarray

    @classmethod
    def from_card(cls, card: ModelCard, path: Path) -> "ModelSpec":
        """The spec of a validated card; ModelLoadError when its probes are malformed."""
        try:
            probe_pixels, probe_logits = decode_probes(card.probes, card.input.image_shape, len(card.labels))
        except ProbeError as error:
            raise ModelLoadError(path, str(error)) from None
        return cls(card, TASKS[card.task].from_card(card), probe_pixels, probe_logits)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def input_name(self) -> str:
        return self.card.input.name

    @property
    def output_name(self) -> str:
        return self.card.output.name

    @property
    def image_shape(self) -> tuple[int, int]:
        return self.card.input.image_shape

    @property
    def labels(self) -> list[str]:
        return self.card.labels


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(path, "file is missing") from None
    except OSError as error:
        raise ModelLoadError(path, f"cannot read: {error.strerror}") from None


InferenceObserver = Callable[[str, int, float], None]
"""Called after each onnxruntime call with the model name, the rows it ran and the seconds it took."""


class Model:
    """One verified model with its onnxruntime session, and its batch queue when batching is on."""

    def __init__(
        self,
        spec: ModelSpec,
        session: ort.InferenceSession,
        observe: InferenceObserver | None = None,
        batching: BatchingPolicy | None = None,
        pool: WorkPool | None = None,
    ) -> None:
        self.spec = spec
        self._session = session
        self._outputs = [spec.output_name]
        self._observe = observe
        self._pool = pool
        self._batcher = AdaptiveBatcher(self.logits, batching, pool) if batching is not None else None

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """Raw logits [N, labels] for float32 pixels [N, H, W] in 0..255, in one onnxruntime call."""
        start = time.perf_counter()
        result: np.ndarray = self._session.run(self._outputs, {self.spec.input_name: pixels})[0]
        if self._observe is not None:
            self._observe(self.spec.name, len(pixels), time.perf_counter() - start)
        return result

    async def infer(self, pixels: np.ndarray) -> np.ndarray:
        """Logits for one request: through the batch queue when batching is on, heavy batches off the loop."""
        if self._batcher is None:
            return await run_logits(self.logits, pixels, self._pool)
        return await self._batcher.logits(pixels)


def load_model(
    folder: Path,
    threads: int,
    observe: InferenceObserver | None = None,
    batching: BatchingPolicy | None = None,
    pool: WorkPool | None = None,
) -> Model:
    """Read, verify (sha256, signature, probe inference) and open models/<name>/; else ModelLoadError saying why.

    The ONNX file is read once: the bytes that were hashed are the bytes onnxruntime runs.
    """
    card_path = folder / CARD_FILE
    onnx_path = folder / ONNX_FILE
    try:
        card = read_card(json.loads(card_path.read_bytes()))
    except OSError as error:
        raise ModelLoadError(card_path, f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ModelLoadError(card_path, f"not UTF-8 text: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise ModelLoadError(card_path, f"not valid JSON: {error}") from None
    except CardError as error:
        raise ModelLoadError(card_path, str(error)) from None
    if card.name != folder.name:
        raise ModelLoadError(card_path, f"name {card.name!r} does not match its folder {folder.name!r}")
    spec = ModelSpec.from_card(card, card_path)
    onnx_bytes = _read_bytes(onnx_path)
    actual = sha256_hex(onnx_bytes)
    if actual != card.onnx_sha256:
        raise ModelLoadError(onnx_path, f"sha256 {actual} does not match model.json ({card.onnx_sha256})")
    try:
        session = open_session(onnx_bytes, threads)
    except Exception as error:  # onnxruntime raises its own untyped errors for corrupt graphs
        raise ModelLoadError(onnx_path, f"onnxruntime cannot load it: {error}") from None
    _check_signature(session, spec, onnx_path)
    mismatch = probe_mismatch(
        spec.probe_logits, session.run([spec.output_name], {spec.input_name: spec.probe_pixels})[0]
    )
    if mismatch is not None:
        raise ModelLoadError(onnx_path, mismatch)
    return Model(spec, session, observe, batching, pool)


def _check_signature(session: ort.InferenceSession, spec: ModelSpec, path: Path) -> None:
    inputs = {node.name: node for node in session.get_inputs()}
    outputs = {node.name: node for node in session.get_outputs()}
    if spec.input_name not in inputs:
        raise ModelLoadError(path, f"has no input {spec.input_name!r} (it has {sorted(inputs)})")
    if spec.output_name not in outputs:
        raise ModelLoadError(path, f"has no output {spec.output_name!r} (it has {sorted(outputs)})")
    node = inputs[spec.input_name]
    if node.type != "tensor(float)" or list(node.shape[1:]) != list(spec.image_shape):
        raise ModelLoadError(path, f"input is {node.type} {node.shape}, model.json says float32 {spec.image_shape}")
    width = outputs[spec.output_name].shape[-1]
    if isinstance(width, int) and width != len(spec.labels):
        raise ModelLoadError(path, f"output has {width} values, model.json names {len(spec.labels)} labels")


@dataclass(frozen=True)
class LoadedModels:
    """One consistent set of loaded models, by name and by task; replaced whole on reload."""

    by_name: dict[str, Model]
    by_task: dict[str, Model]


class ModelRegistry:
    """All models under a folder, one per task; ready once every model is loaded and verified.

    load() may run again while requests are served (a reload): the new set is built and verified
    aside, then swapped in with one assignment. A request keeps the Model it looked up, so it
    finishes on the version it started with; a failed reload leaves the old set serving.
    """

    def __init__(
        self,
        models_dir: Path,
        threads: int,
        observe: InferenceObserver | None = None,
        batching: BatchingPolicy | None = None,
        pool: WorkPool | None = None,
    ) -> None:
        self.models_dir = models_dir
        self.threads = threads
        self._observe = observe
        self._batching = batching
        self._pool = pool
        self._loaded = LoadedModels({}, {})

    @property
    def ready(self) -> bool:
        """True once load() has succeeded."""
        return bool(self._loaded.by_name)

    def load(self) -> None:
        """Load and verify every models/<name>/ folder, then swap them in; all or nothing."""
        if not self.models_dir.is_dir():
            raise ModelLoadError(self.models_dir, "models folder does not exist")
        folders = sorted(path.parent for path in self.models_dir.glob(f"*/{CARD_FILE}"))
        if not folders:
            raise ModelLoadError(self.models_dir, f"no <name>/{CARD_FILE} found")
        models: dict[str, Model] = {}
        by_task: dict[str, Model] = {}
        for folder in folders:
            model = load_model(folder, self.threads, self._observe, self._batching, self._pool)
            task = model.spec.task.name
            if task in by_task:
                raise ModelLoadError(folder, f"a second {task} model (already have {by_task[task].spec.name!r})")
            models[model.spec.name] = by_task[task] = model
        self._loaded = LoadedModels(models, by_task)
        for spec in (model.spec for model in models.values()):
            logger.info(
                "loaded %s %s (%s, sha256 %s)", spec.name, spec.version, spec.task.name, spec.card.onnx_sha256[:12]
            )

    def names(self) -> list[str]:
        """Names of the loaded models."""
        return sorted(self._loaded.by_name)

    def models(self) -> list[Model]:
        """Every loaded model, by name, from one consistent set."""
        loaded = self._loaded.by_name
        return [loaded[name] for name in sorted(loaded)]

    def get(self, name: str) -> Model:
        """The loaded model of that name."""
        loaded = self._loaded.by_name
        if not loaded:
            raise ModelNotReady("models are not loaded yet")
        if name not in loaded:
            raise ModelNotFound(f"no model named {quote(name)}; available: {', '.join(sorted(loaded))}")
        return loaded[name]

    def for_task(self, task: str) -> Model:
        """The loaded model answering that task."""
        by_task = self._loaded.by_task
        if task not in by_task:
            raise ModelNotReady(f"no {task} model is loaded")
        return by_task[task]
