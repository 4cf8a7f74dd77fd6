"""Log lines as text or JSON (LOG_FORMAT), for the service and uvicorn alike."""

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from app.operations.config import Settings

# Control characters (C0, DEL, C1) and Unicode line breaks, written as Python escapes in text lines.
CONTROL_ESCAPES = {code: ascii(chr(code))[1:-1] for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}
FIELDS_ATTRIBUTE = "fields"
"""Loggers pass structured fields as `extra={"fields": {...}}`; JSON lines carry them as keys."""
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def request_id_of(sent: str | None) -> str:
    """The caller's request id (X-Request-ID) when it is sane (1-128 of A-Z a-z 0-9 . _ : / + = -), else a new one."""
    if sent is not None and SANE_REQUEST_ID.fullmatch(sent):
        return sent
    return os.urandom(16).hex()


def access_message(fields: dict[str, Any]) -> str:
    """The access line as text: `client "METHOD path" status duration id=... [model=name:version instances=N]`."""
    message = (
        f'{fields["client"]} "{fields["method"]} {fields["path"]}" {fields["status"]} '
        f"{fields['duration_ms']:.2f} ms id={fields['request_id']}"
    )
    if fields["model"] is not None:
        message += f" model={fields['model']}:{fields['model_version']} instances={fields['instances']}"
    return message


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def escape_controls(text: str) -> str:
    """text with its control characters escaped (`\\n`, `\\x1b`...): one line, no terminal escapes."""
    return text.translate(CONTROL_ESCAPES)


class TextFormatter(logging.Formatter):
    """`time level [pid] logger: message`, then the traceback if there is one. The message is escaped: a request's
    path or header cannot start a forged line or send the terminal an escape sequence."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, pid, logger, message, the record's fields, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, FIELDS_ATTRIBUTE, {}),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(settings: Settings) -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's, in LOG_FORMAT (uvicorn's access log is replaced by ours)."""
    level = "DEBUG" if settings.log_level == "trace" else settings.log_level.upper()
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "service", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
