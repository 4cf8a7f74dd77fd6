"""API keys: which tokens are accepted, read from API_KEY and API_KEYS_FILE."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from app.operations.auth import KeyFileError, KeyRing, admin_key_accepts, bearer_token


def test_keys_come_from_api_key_and_the_file_and_the_file_is_re_read(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# team keys\nalpha\n\n  beta  \n")
    ring = KeyRing(SecretStr("single"), keys_file)
    assert ring.enabled
    assert [ring.accepts(key) for key in ("single", "alpha", "beta", "gamma", "", "alph", "# team keys")] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    keys_file.write_text("gamma\n")
    ring.reload()
    assert ring.accepts("gamma") and not ring.accepts("alpha") and ring.accepts("single")


def test_a_bad_keys_file_is_refused_and_a_failed_reload_keeps_the_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        KeyRing(None, tmp_path / "absent")
    keys_file = tmp_path / "keys"
    keys_file.write_text("# only a comment\n")
    with pytest.raises(KeyFileError, match="holds no key"):
        KeyRing(None, keys_file)
    keys_file.write_text("alpha\n")
    ring = KeyRing(None, keys_file)
    keys_file.unlink()
    with pytest.raises(KeyFileError):
        ring.reload()
    assert ring.accepts("alpha")


def test_no_keys_means_open_and_empty_settings_count_as_unset() -> None:
    assert not KeyRing(None, None).enabled
    assert not KeyRing(SecretStr(""), None).enabled
    assert not admin_key_accepts(SecretStr(""), "")
    assert not admin_key_accepts(None, "anything")
    assert admin_key_accepts(SecretStr("root"), "root") and not admin_key_accepts(SecretStr("root"), "roo")


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
