"""Structured JSON logs in Cloud Logging's format, with correlation ids.

Use `logging.getLogger("sportsflow.<component>")` and pass structured fields as
`extra={"fields": {...}}`. Correlation ids (run_id, correlation_id, function, ...) set
with `log_context(...)` are added to every line logged inside that context.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("sportsflow_log_context", default={})

# Cloud Logging reads `severity`, `message`, `time`, and these special keys from JSON payloads.
_LABELS_KEY = "logging.googleapis.com/labels"
_SOURCE_KEY = "logging.googleapis.com/sourceLocation"
_TRACE_KEY = "logging.googleapis.com/trace"


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach correlation ids to every log line emitted inside the block (thread/async safe)."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = current_context()
        entry: dict[str, Any] = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "component": record.name.removeprefix("sportsflow."),
            **ids,
            **getattr(record, "fields", {}),
            _LABELS_KEY: {k: str(v) for k, v in ids.items()},
            _SOURCE_KEY: {"file": record.pathname, "line": record.lineno, "function": record.funcName},
        }
        if trace := ids.get("trace"):
            entry[_TRACE_KEY] = trace
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: int | str = logging.INFO, stream=None) -> None:
    """Route the `sportsflow` logger tree to one JSON-lines handler (idempotent)."""
    root = logging.getLogger("sportsflow")
    root.setLevel(level)
    root.propagate = False
    for handler in list(root.handlers):
        if getattr(handler, "_sportsflow", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(CloudLoggingFormatter())
    handler._sportsflow = True  # type: ignore[attr-defined]
    root.addHandler(handler)
