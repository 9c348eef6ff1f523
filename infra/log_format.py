"""``LOG_FORMAT=json``: one JSON object per line, which Azure Monitor (and any log store) reads as fields.

A small formatter of our own rather than python-json-logger: it is thirty lines, it adds the job the
line was logged for (``core.jobs.logs.job_fields``), and it keeps the service to the libraries it has.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.jobs.logs import job_fields

# The attributes every LogRecord has; anything else on a record was passed as ``extra=`` and is a field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``time``, ``level``, ``logger``, ``process``, ``message``, the job's ``job_id`` and ``kind`` when the
    line was logged while a job ran, every ``extra=`` field, and ``exception`` with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
            **job_fields(),
        }
        entry.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        data = entry.get("data")
        if isinstance(data, dict) and "id" in data:
            # Celery's own lines on a task (succeeded, raised) carry it in ``data``; our task ids are job ids.
            entry.setdefault("job_id", data["id"])
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
