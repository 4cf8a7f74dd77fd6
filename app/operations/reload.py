"""Reloading the model repository and the API keys while serving, and the record of the last reload."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from app.core.errors import ModelLoadError
from app.core.registry import ModelRegistry
from app.operations.auth import KeyFileError, KeyRing

logger = logging.getLogger(__name__)


class Reloader:
    """Runs one reload at a time, off the event loop, and remembers how the last one went."""

    def __init__(self, registry: ModelRegistry, keys: KeyRing) -> None:
        self._registry = registry
        self._keys = keys
        self._lock = asyncio.Lock()
        self.last: dict[str, Any] | None = None

    async def reload(self, trigger: str) -> dict[str, Any]:
        """Verify and swap in the repository's models, re-read the keys file; return the record of it."""
        async with self._lock:
            error = await asyncio.to_thread(self._reload)
            self.last = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "trigger": trigger,
                "result": "ok" if error is None else "failed",
                "error": error,
                "models": {model.spec.name: model.spec.version for model in self._registry.models()},
            }
        if error is None:
            logger.info("reload (%s) ok: %s", trigger, self.last["models"])
        else:
            logger.error("reload (%s) failed: %s", trigger, error)
        return self.last

    @property
    def public_last(self) -> dict[str, Any] | None:
        """The last reload as anyone may see it: whether it failed and when, not what (paths, OS errors)."""
        if self.last is None:
            return None
        return {key: value for key, value in self.last.items() if key != "error"}

    def _reload(self) -> str | None:
        """None on success, else what failed; each part keeps its previous state when it fails."""
        errors = []
        for part, load in (("models", self._registry.load), ("API keys", self._keys.reload)):
            try:
                load()
            except (ModelLoadError, KeyFileError) as error:
                errors.append(f"{part} unchanged: {error}")
        return "; ".join(errors) or None
