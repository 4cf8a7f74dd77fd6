"""Client of the digit inference service: `DigitsClient(url).multiclass(["a.png", pixels])`, its asyncio
twin AsyncDigitsClient, and the `digits` command (digits.cli)."""

from digits.client import DEFAULT_URL, AsyncDigitsClient, DigitsClient
from digits.errors import AuthenticationError, DigitsError, NotTheService, ServiceBusy, ServiceUnreachable
from digits.protocol import RetryPolicy
from digits.results import Failure, MulticlassResult, MultilabelResult, Result, TopK

__all__ = [
    "DEFAULT_URL",
    "AsyncDigitsClient",
    "AuthenticationError",
    "DigitsClient",
    "DigitsError",
    "Failure",
    "MulticlassResult",
    "MultilabelResult",
    "NotTheService",
    "Result",
    "RetryPolicy",
    "ServiceBusy",
    "ServiceUnreachable",
    "TopK",
]
