"""API keys: which bearer tokens may call the service, compared in constant time. No HTTP here."""

import hashlib
import hmac
import logging
from pathlib import Path

from pydantic import SecretStr

logger = logging.getLogger(__name__)

MIN_KEY_LENGTH = 16
KEY_CHARACTERS = frozenset(chr(code) for code in range(0x21, 0x7F))
"""Visible ASCII: what a bearer token may hold, the same bytes whatever the encoding the header is read in."""
BLANKS = " \t\r\n\f\v"
"""Stripped from both a configured key and a sent token (a Secret's trailing newline, a header's padding)."""


class KeyFileError(Exception):
    """API_KEYS_FILE cannot be read or holds no key."""


def normalise_key(key: str, what: str) -> str:
    """key without surrounding blanks; ValueError (naming `what`, never the key) unless it is at least MIN_KEY_LENGTH
    visible ASCII characters."""
    key = key.strip(BLANKS)
    if not KEY_CHARACTERS.issuperset(key):
        raise ValueError(f"{what} must hold visible ASCII characters only (no spaces, no accents)")
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"{what} is {len(key)} characters long; use at least {MIN_KEY_LENGTH}")
    return key


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def read_keys_file(path: Path) -> list[str]:
    """The keys in a file: one per line, each checked as normalise_key does; blank lines and # comments are skipped."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"API_KEYS_FILE {path}: cannot read: {error}") from None
    try:
        keys = [
            normalise_key(line, f"line {number}")
            for number, line in enumerate(lines, 1)
            if line.strip(BLANKS) and not line.lstrip(BLANKS).startswith("#")
        ]
    except ValueError as error:
        raise KeyFileError(f"API_KEYS_FILE {path}: {error}") from None
    if not keys:
        raise KeyFileError(f"API_KEYS_FILE {path}: holds no key")
    return keys


class KeyRing:
    """The accepted keys (API_KEY, normalised by Settings, and API_KEYS_FILE), kept as sha256 digests."""

    def __init__(self, key: SecretStr | None, keys_file: Path | None) -> None:
        self._key = key.get_secret_value() if key is not None and key.get_secret_value() else None
        self._keys_file = keys_file
        self._digests: tuple[bytes, ...] = ()
        self.reload()

    @property
    def enabled(self) -> bool:
        """True when any key is set: then callers must present one."""
        return bool(self._digests)

    def reload(self) -> None:
        """Re-read API_KEYS_FILE; on failure keep the keys held so far and raise KeyFileError."""
        keys = [self._key] if self._key else []
        if self._keys_file is not None:
            keys += read_keys_file(self._keys_file)
        self._digests = tuple(_digest(key) for key in keys)
        if self._keys_file is not None:
            logger.info("API keys: %d loaded", len(self._digests))

    def accepts(self, token: str) -> bool:
        """True when token is one of the keys; every key is compared, each in constant time."""
        digest = _digest(token)
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip(BLANKS)
    return token if scheme.lower() == "bearer" and token else None


def admin_key_accepts(admin_key: SecretStr | None, token: str | None) -> bool:
    """True when ADMIN_KEY is set and the token is it (constant time)."""
    if admin_key is None or not admin_key.get_secret_value() or token is None:
        return False
    return hmac.compare_digest(_digest(token), _digest(admin_key.get_secret_value()))
