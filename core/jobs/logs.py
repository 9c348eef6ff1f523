"""What the log says of a job: every line logged while it runs carries its id and kind (``job_logging``),
and each job and each table it loads ends with one summary line (``log_summary``).

The fields go to the record's attributes as well as to its text, so a structured log (``LOG_FORMAT=json``)
can be queried by job, kind and table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from domain.loads import COUNT_FIELDS

_current_job: ContextVar[Mapping[str, str] | None] = ContextVar("hireflow_job", default=None)


@contextmanager
def job_logging(job_id: str, kind: str) -> Iterator[None]:
    """While inside, ``job_fields()`` names this job: the log formatter adds them to every line."""
    token = _current_job.set({"job_id": job_id, "kind": kind})
    try:
        yield
    finally:
        _current_job.reset(token)


def job_fields() -> Mapping[str, str]:
    """The job the current code runs for (``job_id``, ``kind``), or nothing outside a job."""
    return _current_job.get() or {}


def log_summary(
    log: logging.Logger,
    what: str,
    counts: Mapping[str, Any],
    seconds: float,
    *,
    table: str | None = None,
    state: str | None = None,
    job: Mapping[str, str] | None = None,
) -> None:
    """One INFO line: ``what`` with its counts, its time and its rate, the same figures as fields.

    ``job`` (``job_id``, ``kind``) names the job it sums up when that is not the one running."""
    figures = {name: int(counts.get(name) or 0) for name in COUNT_FIELDS if name in counts}
    rows = figures.get("processed", int(counts.get("rows") or 0))
    rate = rows / seconds if seconds > 0 else 0.0
    said = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in figures.items())
    if not figures:
        said = f"{rows} rows"
    fields: dict[str, Any] = {
        **figures,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rate, 1),
    }
    if table is not None:
        fields["table"] = table
    if state is not None:
        fields["state"] = state
    fields.update(job or {})
    log.info("%s: %s in %.2f s (%.0f rows/s)", what, said, seconds, rate, extra=fields)
