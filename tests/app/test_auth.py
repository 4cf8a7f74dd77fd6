"""API keys: which tokens are accepted, read from API_KEY and API_KEYS_FILE."""

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from app.operations.auth import KeyFileError, KeyRing, admin_key_accepts, bearer_token
from tests.app.conftest import SHIPPED_MODELS, free_port, make_settings, start_service

SINGLE, ALPHA, BETA, GAMMA = (f"{name}-key-for-tests" for name in ("single", "alpha", "beta", "gamma"))


def test_keys_come_from_api_key_and_the_file_and_the_file_is_re_read(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# team keys\n{ALPHA}\n\n  {BETA}  \n")
    ring = KeyRing(SecretStr(SINGLE), keys_file)
    assert ring.enabled
    assert [ring.accepts(key) for key in (SINGLE, ALPHA, BETA, GAMMA, "", ALPHA[:-1], "# team keys")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    keys_file.write_text(f"{GAMMA}\n")
    ring.reload()
    assert ring.accepts(GAMMA) and not ring.accepts(ALPHA) and ring.accepts(SINGLE)


def test_a_bad_keys_file_is_refused_and_a_failed_reload_keeps_the_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        KeyRing(None, tmp_path / "absent")
    keys_file = tmp_path / "keys"
    keys_file.write_text("# only a comment\n")
    with pytest.raises(KeyFileError, match="holds no key"):
        KeyRing(None, keys_file)
    keys_file.write_text(f"{ALPHA}\n")
    ring = KeyRing(None, keys_file)
    keys_file.unlink()
    with pytest.raises(KeyFileError):
        ring.reload()
    assert ring.accepts(ALPHA)


def test_no_keys_means_open_and_empty_settings_count_as_unset() -> None:
    assert not KeyRing(None, None).enabled
    assert not KeyRing(SecretStr(""), None).enabled
    assert not admin_key_accepts(SecretStr(""), "")
    assert not admin_key_accepts(None, "anything")
    assert admin_key_accepts(SecretStr(SINGLE), SINGLE) and not admin_key_accepts(SecretStr(SINGLE), SINGLE[:-1])


def test_a_key_with_a_trailing_newline_matches_the_key_sent() -> None:
    settings = make_settings(api_key=f"{SINGLE}\n", admin_key=f"  {ALPHA}\r\n")
    assert KeyRing(settings.api_key, None).accepts(bearer_token(f"Bearer {SINGLE}") or "")
    assert admin_key_accepts(settings.admin_key, bearer_token(f"Bearer {ALPHA} "))
    assert make_settings(api_key=" \n").api_key is None


@pytest.mark.parametrize(
    ("key", "message"),
    [("short-key", "is 9 characters long; use at least 16"), ("schlüssel-für-alle-tests", "must hold visible ASCII")],
)
def test_a_short_or_non_ascii_key_is_refused_without_echoing_it(tmp_path: Path, key: str, message: str) -> None:
    for name in ("api_key", "admin_key"):
        with pytest.raises(ValidationError, match=message) as refused:
            make_settings(**{name: key})
        (error,) = refused.value.errors()  # what `python -m app` prints: the message, not the input
        assert name.upper() in error["msg"] and key not in error["msg"]
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{ALPHA}\n{key}\n")
    with pytest.raises(KeyFileError, match=f"line 2 {message}") as refused_line:
        KeyRing(None, keys_file)
    assert key not in str(refused_line.value)


def test_a_non_ascii_key_refused_at_start_up_is_one_line_and_exit_status_2() -> None:
    process = start_service(SHIPPED_MODELS, free_port(), API_KEY="schlüssel-für-alle-tests")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines() == [
        "error: invalid setting: API_KEY: Value error, API_KEY must hold visible "
        "ASCII characters only (no spaces, no accents)"
    ]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
