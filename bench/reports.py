"""Reports: both report use cases right after ``python main.py migrate`` loaded the employees, as a user meets
them: no ``ANALYZE`` or other step of the bench's own in between."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.generate import DataSet
from bench.ingest import dataset
from bench.runner import Context, Figure
from bench.subjects import fresh_sqlite, migrate, postgres_database, services_for
from core.reports.hiring import hired_by_quarter, hiring_above_average

RUNS = 5
LIMIT_MS = 300
REPORTS: dict[str, Callable[[Any], Any]] = {
    "hires by quarter": hired_by_quarter,
    "departments above the mean": hiring_above_average,
}
LIMIT = "the year's rows are read and grouped on each call; nothing is precomputed"


def timed(url: str, data: DataSet, work: Path) -> dict[str, list[float]]:
    """Each report's seconds over ``RUNS`` calls, the first one included."""
    services = services_for(url, data.folder, work)
    found: dict[str, list[float]] = {}
    try:
        for name, report in REPORTS.items():
            seconds = []
            for _ in range(RUNS):
                started = time.perf_counter()
                answer = report(services.reports)
                seconds.append(time.perf_counter() - started)
                assert answer.rows, f"{name} is empty"
            found[name] = seconds
    finally:
        services.dispose()
    return found


def reports(ctx: Context) -> list[Figure]:
    data = dataset(ctx)
    work = ctx.data_dir / "reports"
    backends = ["SQLite", "PostgreSQL"] if ctx.postgres_admin_url else ["SQLite"]
    figures: list[Figure] = []
    for db in backends:
        url = fresh_sqlite(work / "reports.db") if db == "SQLite" else postgres_database(ctx, "hf_bench_reports")
        migrate(url, data, work)
        found = timed(url, data, work)
        for name in REPORTS:
            ms = statistics.median(found[name]) * 1000
            figures.append(
                Figure(
                    f"Report {name} ({db})",
                    ms,
                    "ms",
                    f"< {LIMIT_MS} ms",
                    met=ms < LIMIT_MS,
                    note=f"{data.rows:,} employees loaded by main.py migrate, nothing run in between; median of "
                    f"{RUNS} calls, the first {found[name][0] * 1000:.0f} ms",
                    details={"seconds": found[name]},
                    if_missed=LIMIT,
                )
            )
    return figures
