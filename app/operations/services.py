"""The settings and long-lived objects every transport works with, built once per worker."""

from dataclasses import dataclass

from app.core.admission import MemoryBudget
from app.core.offload import WorkPool
from app.core.registry import ModelRegistry
from app.operations.auth import KeyRing
from app.operations.config import Settings
from app.operations.metrics import Metrics
from app.operations.reload import Reloader


@dataclass(slots=True, eq=False)
class Services:
    """The app's settings and long-lived objects, built once by create_app."""

    settings: Settings
    registry: ModelRegistry
    metrics: Metrics
    pool: WorkPool
    reloader: Reloader
    keys: KeyRing
    """The API keys (API_KEY, API_KEYS_FILE) every transport checks."""
    memory: MemoryBudget
    """Bytes this worker may reserve for requests in flight (every transport reserves before reading a body)."""
    draining: bool = False
    """True from the moment a stop signal arrives (readiness answers 503)."""
    hangups_to_skip: int = 0
    """SIGHUPs this worker asked the supervisor to send every worker after it had reloaded: its own copy is skipped."""
