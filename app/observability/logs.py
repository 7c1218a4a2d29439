"""Logging of the project and uvicorn: one JSON object per line (`TMF640_LOG_FORMAT=json`) or text for a terminal.

Every record gets the ids bound in its context (resolvers.telemetry: correlation, request, activation, monitor),
so a request and the work it started can be followed by one `grep` or one query in a log store.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from resolvers import telemetry


class ContextFilter(logging.Filter):
    """Copies the bound ids onto the record (fields of the JSON line; a suffix of the text line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = telemetry.current()
        for name, value in ids.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        record.ids = " ".join(f"{k}={v}" for k, v in ids.items())
        return True


class TextFormatter(logging.Formatter):
    """`time level logger message key=value...`: the extras and ids of a record, readable in a terminal."""

    _skip = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
        "message", "asctime", "ids", "color_message", "taskName", *telemetry.FIELDS}

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in self._skip and v is not None}
        parts = [f"{k}={v}" for k, v in extras.items()]
        ids = getattr(record, "ids", "")
        return " ".join(p for p in (line, " ".join(parts), ids) if p)


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=[*_RESERVED, "ids", "color_message"],
        timestamp="time",  # ISO 8601 in UTC with microseconds
    )


_RESERVED = (
    "args", "created", "exc_info", "exc_text", "filename", "funcName", "levelno", "lineno", "module", "msecs", "msg",
    "pathname", "process", "processName", "relativeCreated", "stack_info", "thread", "threadName", "taskName",
)


def configure(level: str = "info", fmt: str = "json") -> None:
    """Route the project's and uvicorn's loggers to stderr in `fmt`; uvicorn's access log is replaced by ours."""
    formatter: logging.Formatter = (
        json_formatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)-7s %(name)s %(message)s")
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    config: dict[str, Any] = {"version": 1, "disable_existing_loggers": False}
    logging.config.dictConfig(config)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "tmf640"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))  # one line per migration is enough:
    logging.getLogger("alembic.runtime.migration").setLevel(root.level)    # its "Running upgrade" lines stay
    logging.getLogger("uvicorn.access").disabled = True  # app.observability.http writes one line per request
    # httpx logs every request at INFO: one line per hub delivery (thousands a second) says nothing the delivery
    # records do not; its warnings stay.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
