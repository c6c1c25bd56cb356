"""Structured logs: one JSON object per line on stderr.

Callers log an event name as the message and its data as `extra={"fields": {...}}`; the
formatter writes {"ts", "level", "logger", "event", ...fields} and the exception, if any.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from statesync.errors import ZkStateSyncError

P = ParamSpec("P")
T = TypeVar("T")

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "fields" and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log record of this process to stderr as JSON lines (replacing other handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log is replaced by the server's own request records.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def report_failures(event: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A service command's expected failures as one JSON line on stderr (`event` names it) and exit code 1:
    a person reads it, a supervisor parses it, and nobody gets a traceback for a wrong password."""

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return function(*args, **kwargs)
            except (ZkStateSyncError, OSError) as exc:
                print(json.dumps({"level": "error", "event": event, "message": str(exc)}), file=sys.stderr)
                raise typer.Exit(1) from exc

        return wrapper

    return decorate
