"""Structured logs: every record carries the ids of what it is about (battle, response,
execution, job), taken from a context the code sets once per unit of work, and comes out
as one JSON object per line when LOG_FORMAT=json (for a log pipeline), or as text.

    with log_context(battle_id=battle.pk, response_id=response.pk):
        ...  # every log line inside says which battle and answer
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

# Immutable by use: log_context sets a new dict, never changes the current one.
_NO_IDS: dict[str, str] = {}
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "arena_log_context",
    default=_NO_IDS,  # noqa: B039
)


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: str(v) for k, v in ids.items()}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the current ids on every record (`record.context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = _context.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = getattr(record, "context", {})
        return f"{text} [{' '.join(f'{k}={v}' for k, v in ids.items())}]" if ids else text
