"""The worker's functions for ``backup`` and ``restore`` jobs: they run the use cases and report progress."""

from __future__ import annotations

from typing import Any

from core.backup.back_up import backup_tables
from core.backup.catalogue import chosen_tables, find_backup, prune_backups
from core.backup.restore import restore_tables
from core.jobs import ProgressReporter, StopCheck
from core.table_exclusion import RESTORE, check_alone

# The key under which each phase's rows appear in a job's counts: {"hired_employees": {"rows": 1929, "verified": ...}}
PHASE_COUNTS = {"backup": "backed_up", "verify": "verified", "restore": "restored"}


def backup_job(
    services: Any, params: dict[str, Any], progress: ProgressReporter, should_stop: StopCheck
) -> dict[str, Any]:
    """The worker's function for ``backup`` jobs: one file per table, progress after each chunk, then the pruning."""
    tables = chosen_tables(params.get("tables"))
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
        services.archive, services.storage, services.backup_format, tables, on_progress=report, should_stop=should_stop
    )
    pruned = prune_backups(services.storage, params["keep"], tables) if params.get("keep") else []
    return {
        "backups": [info.as_dict() for info in made],
        "rows": sum(info.rows for info in made),
        "pruned": [{"table": info.table, "id": info.id} for info in pruned],
    }


def restore_job(
    services: Any, params: dict[str, Any], progress: ProgressReporter, should_stop: StopCheck
) -> dict[str, Any]:
    """The worker's function for ``restore`` jobs: every file checked, then all tables replaced in one transaction."""
    check_alone(services.admission, progress.job_id, RESTORE, params)
    backups: dict[str, str | None] = params["backups"]
    rows = {table: find_backup(services.storage, table, backup_id).rows for table, backup_id in backups.items()}
    total = sum(rows.values())
    counts = {table: {"rows": n, PHASE_COUNTS["verify"]: 0, PHASE_COUNTS["restore"]: 0} for table, n in rows.items()}

    # On SQLite the replacement holds the only write lock: recording progress then would wait on ourselves.
    quiet_while_replacing = services.archive.replacement_blocks_other_writes

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
        if not (phase == "restore" and quiet_while_replacing):
            publish()

    restored = restore_tables(
        services.archive, services.storage, services.backup_format, backups, on_progress=report, should_stop=should_stop
    )
    publish()
    return {"tables": [item.as_dict() for item in restored], "rows": sum(item.rows for item in restored)}
