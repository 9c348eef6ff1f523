"""Benchmarks that need the HTTP API and the Celery workers; each keeps its row in the table until it lands."""

from __future__ import annotations

from bench.runner import Context, Figure

PENDING = "measured once the API lands"


def scale_out(ctx: Context) -> list[Figure]:
    """One large file split into ranges across Celery workers, progress summed into one job."""
    return [
        Figure("Scale-out, 1 worker (PostgreSQL)", None, "rows/s", note=PENDING),
        Figure("Scale-out, 2 workers (PostgreSQL)", None, "rows/s", "≥ 1.5× 1 worker", note=PENDING),
        Figure("Scale-out, 2 workers (SQLite)", None, "rows/s", "single writer: gain or cost", note=PENDING),
    ]
