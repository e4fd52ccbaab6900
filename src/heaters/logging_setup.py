"""Logging for the long-running processes (`heaters serve`, `heaters worker`, `heaters migrate`).

One line per event on stderr, with a UTC timestamp and a level: readable text by default, or JSON lines
(`HEATERS_LOG_FORMAT=json`) for a log collector. Structured fields passed as `extra={...}` (stage,
entity, duration, HTTP status…) appear as `key=value` in text and as keys in JSON. Every line passes
through `redact`, so a presigned URL or a password quoted by a library never reaches the log.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from heaters.domain.redact import redact

_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# Chatty libraries: their INFO lines repeat what our own lines say.
_QUIET = ("procrastinate", "botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore", "alembic", "PIL")


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Install our handler on the root logger (idempotent)."""
    level = level.upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
    # uvicorn's own handlers would print a second copy; its access log is replaced by ours (web.access_log).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
