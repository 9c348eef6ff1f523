"""The worker's handlers for ``backup`` and ``restore`` jobs: they run the use cases and report progress.

Each handler names what it needs; the composition root hands it exactly that.
"""

from __future__ import annotations

from typing import Any

from core.backup.back_up import backup_tables
from core.backup.catalogue import find_backup, prune_backups
from core.backup.ports import BackupFormat, TableSnapshots
from core.backup.restore import restore_tables
from core.jobs.exclusion import check_alone
from core.jobs.progress import ProgressReporter
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWorkFactory
from domain.commands import BackUpTables, RestoreTables

# The key under which each phase's rows appear in a job's counts: {"hired_employees": {"rows": 1929, "verified": ...}}
PHASE_COUNTS = {"backup": "backed_up", "verify": "verified", "restore": "restored"}


def backup_job(
    command: BackUpTables,
    progress: ProgressReporter,
    *,
    snapshots: TableSnapshots,
    storage: BlobStorage,
    backup_format: BackupFormat,
) -> dict[str, Any]:
    """A ``backup`` job: one file per table, progress after each chunk, then the pruning."""
    tables = list(command.tables)
    counts: dict[str, dict[str, int]] = {}

    def report(table: str, phase: str, done: int, total: int) -> None:
        counts[table] = {"rows": total, PHASE_COUNTS[phase]: done}
        # Tables are backed up one after the other: those before the current one are complete.
        tables_done = len(counts) - 1 + (done / total if total else 1.0)
        all_known = len(counts) == len(tables)
        progress(
            sum(entry[PHASE_COUNTS["backup"]] for entry in counts.values()),
            sum(entry["rows"] for entry in counts.values()) if all_known else None,
            percent=100.0 * tables_done / len(tables),
            counts={name: dict(entry) for name, entry in counts.items()},
        )

    made = backup_tables(
        snapshots, storage, backup_format, tables, on_progress=report, should_stop=progress.should_stop
    )
    pruned = prune_backups(storage, command.keep, tables) if command.keep else []
    return {
        "backups": [info.as_dict() for info in made],
        "rows": sum(info.rows for info in made),
        "pruned": [{"table": info.table, "id": info.id} for info in pruned],
    }


def restore_job(
    command: RestoreTables,
    progress: ProgressReporter,
    *,
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    backup_format: BackupFormat,
    single_writer: bool,
) -> dict[str, Any]:
    """A ``restore`` job: every file checked, then all tables replaced in one transaction.

    ``single_writer``: while a transaction writes, no other may (SQLite), so progress is not recorded
    while the tables are being replaced; it would wait on the replacement itself.
    """
    check_alone(uow, progress.job_id, command.kind, command.to_params())
    backups = dict(command.backups)
    rows = {table: find_backup(storage, table, backup_id).rows for table, backup_id in backups.items()}
    total = sum(rows.values())
    counts = {table: {"rows": n, PHASE_COUNTS["verify"]: 0, PHASE_COUNTS["restore"]: 0} for table, n in rows.items()}

    def publish() -> None:
        # Checking a row and writing it are counted as two halves of the work.
        work = sum(entry[PHASE_COUNTS["verify"]] + entry[PHASE_COUNTS["restore"]] for entry in counts.values())
        progress(
            sum(entry[PHASE_COUNTS["restore"]] for entry in counts.values()),
            total,
            percent=50.0 * work / total if total else 0.0,
            counts={name: dict(entry) for name, entry in counts.items()},
        )

    def report(table: str, phase: str, done: int, _total: int) -> None:
        counts[table][PHASE_COUNTS[phase]] = done
        if not (phase == "restore" and single_writer):
            publish()

    restored = restore_tables(
        uow, storage, backup_format, backups, on_progress=report, should_stop=progress.should_stop
    )
    publish()
    return {"tables": [item.as_dict() for item in restored], "rows": sum(item.rows for item in restored)}
