"""Backup and restore: rows per second through the ``core.backup`` use cases."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.generate import generate
from bench.runner import Context, Figure, stopwatch
from bench.subjects import fresh_sqlite, postgres_database, run_ingest_job, services_for
from core.backup.back_up import backup_tables
from core.backup.restore import restore_tables
from infra.storage.local import LocalFolderStorage

BACKUP_TARGET = 300_000
RESTORE_TARGET = 150_000
BACKUP_LIMIT = "fastavro alone needs about 3 µs to encode one record here, before a row is read from the database"
RESTORE_LIMIT = (
    "every row is decoded and validated twice (the whole file is checked before a row is touched, then "
    "replaced) and inserted in one transaction into a table whose datetime index grows at random places"
)


def _measure(ctx: Context, db: str, url: str, folder: Path) -> list[Figure]:
    data = generate(ctx.data_dir / f"employees-{ctx.backup_rows}", ctx.backup_rows, ctx.invalid_share)
    services = services_for(url, data.folder, folder)
    backups = LocalFolderStorage(folder / "backups")
    try:
        loaded = run_ingest_job(services)
        assert loaded.result is not None
        rows = loaded.result["tables"]["hired_employees"]["inserted"]
        best_backup = best_restore = float("inf")
        for _ in range(ctx.repeats):
            with stopwatch() as backup_time:
                [info] = backup_tables(services.database, backups, services.backup_format, ["hired_employees"])
            with stopwatch() as restore_time:
                [restored] = restore_tables(
                    services.database, backups, services.backup_format, {"hired_employees": info.id}
                )
            best_backup = min(best_backup, backup_time[0])
            best_restore = min(best_restore, restore_time[0])
        assert info.rows == restored.rows == rows, (info.rows, restored.rows, rows)
    finally:
        services.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    backup_rate, restore_rate = rows / best_backup, rows / best_restore
    return [
        Figure(
            f"Backup of hired_employees ({db})",
            backup_rate,
            "rows/s",
            f"≥ {BACKUP_TARGET:,} rows/s",
            met=backup_rate >= BACKUP_TARGET,
            details={"rows": rows, "seconds": best_backup},
            if_missed=BACKUP_LIMIT,
        ),
        Figure(
            f"Restore of hired_employees ({db})",
            restore_rate,
            "rows/s",
            f"≥ {RESTORE_TARGET:,} rows/s",
            met=restore_rate >= RESTORE_TARGET,
            details={"rows": rows, "seconds": best_restore},
            if_missed=RESTORE_LIMIT,
        ),
    ]


def backup_restore_sqlite(ctx: Context) -> list[Figure]:
    return _measure(ctx, "SQLite", fresh_sqlite(ctx.data_dir / "backup.db"), ctx.data_dir / "backups-sqlite")


def backup_restore_postgresql(ctx: Context) -> list[Figure]:
    if not ctx.postgres_admin_url:
        return [Figure("Backup and restore (PostgreSQL)", None, "rows/s", note="no PostgreSQL for this run")]
    url = postgres_database(ctx, "hf_bench_backup")
    return _measure(ctx, "PostgreSQL", url, ctx.data_dir / "backups-postgresql")
