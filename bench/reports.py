"""Reports: both report use cases right after ``python main.py migrate`` loaded the employees, as a user meets
them: no ``ANALYZE`` or other step of the bench's own in between."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

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
LIMIT = (
    "without statistics SQLite plans on the datetime index rather than the covering ones (issue 12); with them, "
    "the year's rows are still read and grouped on each call"
)


def statistics_state(engine: Engine) -> str:
    """Whether the planner has statistics on hired_employees; read only, so it changes nothing."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                return "no statistics (nothing ran ANALYZE)"
            found = conn.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'hired_employees'")).scalar()
            return "statistics present" if found else "no statistics on hired_employees"
        row = conn.execute(
            text("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'hired_employees'")
        ).first()
        return "statistics present" if row and (row[0] or row[1]) else "not analysed yet"


def timed(url: str, data: DataSet, work: Path) -> tuple[dict[str, list[float]], str]:
    """Each report's seconds over ``RUNS`` calls, the first one included, and the state of the statistics."""
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
        state = statistics_state(services.engine)
    finally:
        services.dispose()
    return found, state


def reports(ctx: Context) -> list[Figure]:
    data = dataset(ctx)
    work = ctx.data_dir / "reports"
    backends = ["SQLite", "PostgreSQL"] if ctx.postgres_admin_url else ["SQLite"]
    figures: list[Figure] = []
    for db in backends:
        url = fresh_sqlite(work / "reports.db") if db == "SQLite" else postgres_database(ctx, "hf_bench_reports")
        migrate(url, data, work, sample_memory=False)
        found, state = timed(url, data, work)
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
                    f"{RUNS} calls, the first {found[name][0] * 1000:.0f} ms; {state} after the load",
                    details={"seconds": found[name]},
                    if_missed=LIMIT,
                )
            )
    return figures
