"""Backup and restore of hired_employees through the ``core.backup`` use cases, each against its honest limit:
a plain fastavro writer over the same rows of the same database, and a fastavro reader loading the same file
into the table without its secondary indexes, then the indexes built. Interleaved, best of ``ctx.repeats``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import limits
from bench.generate import generate
from bench.ingest import limit_database
from bench.runner import Context, Figure, against_limit, stopwatch
from bench.subjects import fresh_sqlite, postgres_database, run_ingest_job, services_for
from core.backup.back_up import backup_tables
from core.backup.restore import restore_tables
from infra.storage.local import LocalFolderStorage

TABLE = "hired_employees"
TARGET = 0.8
BACKUP_LIMIT = (
    "rows come from the driver's cursor with the micros made in SQL, as in the limit; a backup also hashes the "
    "file and copies it into the storage, and writes its manifest"
)
RESTORE_LIMIT = (
    "each chunk of rows goes through the domain rules (a column at a time) and into a staging table (binary COPY "
    "on PostgreSQL), then set-based duplicate and reference checks; in one transaction the table is emptied "
    "(TRUNCATE on PostgreSQL) and filled by one INSERT … SELECT without its secondary indexes (on PostgreSQL nor "
    "its foreign keys and primary key), which are built after, then ANALYZE; the limit inserts the decoded rows "
    "once and skips the rules, the staging, the checks and the statistics"
)


def _measure(ctx: Context, db: str, url: str, limit_url: Callable[[], str], work: Path) -> list[Figure]:
    data = generate(ctx.data_dir / f"employees-{ctx.backup_rows}", ctx.backup_rows, ctx.invalid_share)
    services = services_for(url, data.folder, work)
    backups = work / "backups"
    storage = LocalFolderStorage(backups)
    seconds: dict[str, list[float]] = {"backup": [], "backup limit": [], "restore": [], "restore limit": []}
    builds: list[float] = []
    try:
        loaded = run_ingest_job(services)
        assert loaded.result is not None
        rows = loaded.result["tables"][TABLE]["inserted"]
        for attempt in range(ctx.repeats):
            with stopwatch() as elapsed:
                [info] = backup_tables(services.database, storage, services.backup_format, [TABLE])
            seconds["backup"].append(elapsed[0])
            ours = backups / info.data_name
            seconds["backup limit"].append(limits.backup(url, ours, work / "limit.avro"))
            restore_limit, build = limits.restore(limit_database(limit_url(), data, work), ours)
            seconds["restore limit"].append(restore_limit)
            builds.append(build)
            with stopwatch() as elapsed:
                [restored] = restore_tables(services.database, storage, services.backup_format, {TABLE: info.id})
            seconds["restore"].append(elapsed[0])
            assert info.rows == restored.rows == rows, (info.rows, restored.rows, rows)
            ctx.log(
                f"  {db} run {attempt + 1}: "
                + ", ".join(f"{name} {rows / values[-1]:,.0f} rows/s" for name, values in seconds.items())
            )
    finally:
        services.dispose()
    _, codec = limits.avro_layout(ours)
    return [
        against_limit(
            f"Backup of hired_employees ({db})",
            rows,
            seconds["backup"],
            seconds["backup limit"],
            TARGET,
            note=f"{rows:,} rows; limit: plain fastavro.writer, our file's schema and codec ({codec}), over the "
            "rows read from the same database",
            if_missed=BACKUP_LIMIT,
        ),
        against_limit(
            f"Restore of hired_employees ({db})",
            rows,
            seconds["restore"],
            seconds["restore limit"],
            TARGET,
            note=f"{rows:,} rows replacing as many; limit: fastavro.reader of the same file → "
            + ("executemany" if db == "SQLite" else "COPY")
            + " into the empty table without secondary indexes"
            + ("" if db == "SQLite" else " or foreign keys")
            + f", then those built ({min(builds):.1f} s of the limit's {min(seconds['restore limit']):.1f} s)",
            if_missed=RESTORE_LIMIT,
            details={"index_build_seconds": builds},
        ),
    ]


def backup_restore_sqlite(ctx: Context) -> list[Figure]:
    work = ctx.data_dir / "backup-sqlite"
    return _measure(ctx, "SQLite", fresh_sqlite(work / "backup.db"), lambda: fresh_sqlite(work / "limit.db"), work)


def backup_restore_postgresql(ctx: Context) -> list[Figure]:
    if not ctx.postgres_admin_url:
        return [Figure("Backup and restore (PostgreSQL)", None, "rows/s", note="no PostgreSQL for this run")]
    work = ctx.data_dir / "backup-postgresql"
    url = postgres_database(ctx, "hf_bench_backup")
    return _measure(ctx, "PostgreSQL", url, lambda: postgres_database(ctx, "hf_bench_backup_limit"), work)
