"""LOG_FORMAT: text lines for people, JSON lines for log search; both carry the traceback."""

import json
import logging
import logging.config
import sys

import pytest
from pydantic import ValidationError

from app.operations.config import Settings
from app.operations.logs import JsonFormatter, TextFormatter, logging_config


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
