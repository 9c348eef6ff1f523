"""Reports: both report use cases on a full hired_employees table, in SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bench.generate import DataSet
from bench.ingest import dataset, fresh_sqlite, full_path, postgres_baseline, postgres_database, services_for
from bench.runner import Context, Figure
from core.reports import hired_by_quarter, hiring_above_average

RUNS = 5
LIMIT_MS = 300
REPORTS: dict[str, Callable[[Any], Any]] = {
    "hires by quarter": hired_by_quarter,
    "departments above the mean": hiring_above_average,
}
LIMIT = "the year's rows are read and grouped on each call; nothing is precomputed"


def timed(url: str, data: DataSet) -> dict[str, list[float]]:
    """Each report's seconds over ``RUNS`` calls after one warm-up call."""
    services = services_for(url, data)
    found: dict[str, list[float]] = {}
    try:
        for name, report in REPORTS.items():
            assert report(services.reports).rows, f"{name} is empty"
            seconds = []
            for _ in range(RUNS):
                started = time.perf_counter()
                report(services.reports)
                seconds.append(time.perf_counter() - started)
            found[name] = seconds
    finally:
        services.dispose()
    return found


def load_sqlite(ctx: Context, data: DataSet) -> str:
    url = fresh_sqlite(ctx.data_dir / "reports.db")
    full_path(url, data, "bench-reports")
    analyze(url, data)
    return url


def load_postgresql(ctx: Context, data: DataSet) -> str:
    url = postgres_database(ctx, "hf_bench_reports")
    postgres_baseline(url, data)
    analyze(url, data)
    return url


def analyze(url: str, data: DataSet) -> None:
    services = services_for(url, data)
    try:
        with services.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        services.dispose()


def reports(ctx: Context) -> list[Figure]:
    data = dataset(ctx)
    backends = [("SQLite", load_sqlite)]
    if ctx.postgres_admin_url:
        backends.append(("PostgreSQL", load_postgresql))
    figures: list[Figure] = []
    for db, load in backends:
        url = load(ctx, data)
        found = timed(url, data)
        for name in REPORTS:
            ms = statistics.median(found[name]) * 1000
            figures.append(
                Figure(
                    f"Report {name} ({db})",
                    ms,
                    "ms",
                    f"< {LIMIT_MS} ms",
                    met=ms < LIMIT_MS,
                    note=f"{data.rows:,} employees, median of {RUNS} calls after a warm-up; "
                    "with the covering indexes of infra/db/schema.py",
                    details={"seconds": found[name]},
                    if_missed=LIMIT,
                )
            )
    return figures
