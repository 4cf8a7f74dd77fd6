"""LOG_FORMAT: text lines for people, JSON lines for log search; both carry the traceback."""

import json
import logging
import logging.config
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.main import create_app
from app.operations.config import Settings
from app.operations.logs import JsonFormatter, TextFormatter, logging_config
from tests.app.conftest import make_settings


def _record_with_error() -> logging.LogRecord:
    try:
        raise ValueError("bad pixels")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("app.error", logging.ERROR, __file__, 1, "request %s failed", ("r-1",), exc_info)
    record.fields = {"request_id": "r-1", "status": 500}
    return record


def test_json_lines_hold_the_fields_and_the_traceback() -> None:
    line = json.loads(JsonFormatter().format(_record_with_error()))
    assert line["message"] == "request r-1 failed" and line["level"] == "error" and line["logger"] == "app.error"
    assert line["request_id"] == "r-1" and line["status"] == 500 and isinstance(line["pid"], int)
    assert line["time"].endswith("+00:00") and 'raise ValueError("bad pixels")' in line["traceback"]


def test_text_lines_are_one_readable_line_then_the_traceback() -> None:
    text = TextFormatter().format(_record_with_error())
    first, *rest = text.splitlines()
    assert first.endswith("ERROR [" + str(_record_with_error().process) + "] app.error: request r-1 failed")
    assert rest[0].startswith("Traceback") and "ValueError: bad pixels" in rest[-1]


@pytest.mark.parametrize(("log_format", "formatter"), [("text", TextFormatter), ("JSON", JsonFormatter)])
def test_the_setting_chooses_the_formatter_for_every_logger(log_format: str, formatter: type) -> None:
    config = logging_config(Settings(log_format=log_format))
    logging.config.dictConfig(config)
    try:
        (handler,) = logging.getLogger().handlers
        assert isinstance(handler.formatter, formatter)
        assert logging.getLogger("uvicorn.error").propagate and not logging.getLogger("uvicorn.error").handlers
    finally:
        logging.getLogger().handlers.clear()


def test_an_unknown_format_is_a_setting_error() -> None:
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="xml")


def test_a_text_line_escapes_what_a_client_sent_so_it_cannot_forge_lines_or_send_terminal_escapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(create_app(make_settings(access_log=True))) as client, caplog.at_level(logging.INFO, "app.access"):
        client.get("/healthz%0aFORGED%1b[31m%E2%80%A8x")
    (record,) = [record for record in caplog.records if record.name == "app.access"]
    text = TextFormatter().format(record)
    assert len(text.splitlines()) == 1 and "\x1b" not in text
    assert '"GET /healthz\\nFORGED\\x1b[31m\\u2028x" 404' in text
    assert "GET /healthz\nFORGED" in JsonFormatter().format(record).encode().decode("unicode_escape")
