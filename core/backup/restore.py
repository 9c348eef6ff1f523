"""Restore tables from backups: every file read once into a staging area and checked there before a row
is touched, then every chosen table replaced from it in one transaction."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter, lt
from typing import IO, Any

from core.backup.catalogue import CHUNK_ROWS, COPY_CHUNK, BackupInfo, chosen_tables, find_backup
from core.backup.ports import BackupFormat, BackupProgress
from core.storage import BlobStorage
from core.unit_of_work import HiringRows, Missing, StagedRows, UnitOfWork, UnitOfWorkFactory, WriteConflict
from domain.background_jobs import Cancelled
from domain.entities import TABLES, TableSpec
from domain.errors import BackupNotFound, InvalidBackup, RestoreRefused, SourceNotFound

MAX_NAMED_IDS = 20

log = logging.getLogger("hireflow.backup")


@dataclass
class RestoredTable:
    table: str
    backup_id: str
    rows: int
    rows_before: int = field(default=0)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "backup_id": self.backup_id, "rows": self.rows, "rows_before": self.rows_before}


def restore_table(
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    backup_format: BackupFormat,
    table: str,
    backup_id: str | None = None,
    **options: Any,
) -> list[RestoredTable]:
    """Replace one table's contents with a backup (default: its newest)."""
    return restore_tables(uow, storage, backup_format, {table: backup_id}, **options)


def restore_tables(
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    backup_format: BackupFormat,
    backups: Mapping[str, str | None] | Sequence[str],
    *,
    on_progress: BackupProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[RestoredTable]:
    """Replace the contents of several tables, each with a backup (default: its newest), in one transaction.

    Each file is read once: its checksum, schema and row count are checked and each row, checked
    against the insert rules, goes into a staging area of the database as it is read. Set-based
    queries over the staged rows then check that ids are unique and, once the tables are locked,
    that every reference will hold. Then, in one transaction, the tables are replaced from the
    staged rows, children deleted before parents, parents inserted before children. On any error
    nothing changes.
    """
    chosen = dict.fromkeys(backups, None) if not isinstance(backups, Mapping) else dict(backups)
    tables = chosen_tables(chosen)
    infos = {table: find_backup(storage, table, chosen[table]) for table in tables}
    for info in infos.values():
        if info.format != backup_format.extension:
            raise InvalidBackup(f"backup {info.id} of {info.table} is {info.format}, not {backup_format.extension}")
    with uow() as tx:
        staged: dict[str, StagedRows] = {}
        for table, info in infos.items():
            with tempfile.TemporaryFile() as local:
                _download(storage, info, local)
                staged[table] = _stage(tx, backup_format, info, local, on_progress, should_stop, chunk_rows)
        # The staged rows are this unit of work's own: committing them shows nothing to anyone, and
        # lets the locks below be the first step of the next transaction (SQLite takes its lock so).
        tx.commit()
        try:
            # The locks come before the reference checks, so that no writer slips a row in between.
            tx.rows.lock(tables, references_checked=True)
            before = _replace(tx.rows, staged, {t: infos[t].rows for t in tables}, on_progress, should_stop)
            tx.commit()
        except WriteConflict as error:
            raise RestoreRefused(
                "the tables changed while the restore ran, so nothing was restored; try again",
                {"tables": tables, "reason": str(error)[:300]},
            ) from None
    for table, info in infos.items():
        log.info("restored %s from backup %s: %s rows", table, info.id, info.rows)
    return [RestoredTable(t, infos[t].id, infos[t].rows, before[t]) for t in tables]


def _download(storage: BlobStorage, info: BackupInfo, local: IO[bytes]) -> None:
    try:
        source = storage.open(info.data_name)
    except SourceNotFound:
        raise BackupNotFound(
            f"the file of {info.table} backup {info.id} is missing", {"table": info.table, "backup_id": info.id}
        ) from None
    digest = hashlib.sha256()
    size = 0
    with source:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            local.write(chunk)
    if size != info.bytes or digest.hexdigest() != info.sha256:
        raise InvalidBackup(
            f"{info.table} backup {info.id} does not match its checksum "
            f"({size} bytes, expected {info.bytes}); the file is damaged or was changed",
            {"table": info.table, "backup_id": info.id},
        )
    local.seek(0)


def _stage(
    tx: UnitOfWork,
    backup_format: BackupFormat,
    info: BackupInfo,
    file: IO[bytes],
    on_progress: BackupProgress | None,
    should_stop: Callable[[], bool] | None,
    chunk_rows: int,
) -> StagedRows:
    """Read the file once, each row through the insert rules into the staging area; then check its ids."""
    reader = backup_format.read(file, info.table)
    if reader.header.rows != info.rows:
        raise InvalidBackup(
            f"{info.table} backup {info.id} says {reader.header.rows} rows but its manifest says {info.rows}",
            {"table": info.table, "backup_id": info.id},
        )
    staged = tx.rows.stage(info.table)
    count = last_id = 0
    ascending = True
    for chunk in _valid_chunks(TABLES[info.table], info, reader, chunk_rows):
        staged.add(chunk)
        count += len(chunk)
        # Ids that only grow cannot repeat; hireflow writes backups in id order, so the query below is rarely needed.
        if ascending:
            ids = [last_id, *map(itemgetter(0), chunk)]
            ascending = all(map(lt, ids, ids[1:]))
            last_id = ids[-1]
        if on_progress:
            on_progress(info.table, "verify", count, info.rows)
        if should_stop and should_stop():
            raise Cancelled()
    if count != info.rows:
        raise InvalidBackup(
            f"{info.table} backup {info.id} holds {count} rows but says {info.rows}",
            {"table": info.table, "backup_id": info.id},
        )
    if on_progress and not count:
        on_progress(info.table, "verify", count, info.rows)
    repeated = None if ascending else staged.repeated_id()
    if repeated is not None:
        raise InvalidBackup(
            f"{info.table} backup {info.id} holds id {repeated} twice",
            {"table": info.table, "backup_id": info.id, "id": repeated},
        )
    return staged


def _valid_chunks(
    spec: TableSpec, info: BackupInfo, rows: Iterable[tuple[Any, ...]], size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The backup's rows through the same validation as an insert, ``size`` at a time; a bad row stops the restore.

    A chunk is checked a column at a time; only a chunk with a row that is not plainly valid goes row by row, which
    names the first bad row and its reasons. A file damaged further on is refused for a bad row before the damage.
    """
    remaining = iter(rows)
    done = 0
    while True:
        chunk: list[tuple[Any, ...]] = []
        try:
            chunk.extend(islice(remaining, size))
        except InvalidBackup:
            _validate_each(spec, info, chunk, done)
            raise
        if not chunk:
            return
        valid = spec.accept_all(chunk)
        yield _validate_each(spec, info, chunk, done) if valid is None else valid
        done += len(chunk)


def _validate_each(spec: TableSpec, info: BackupInfo, rows: list[tuple[Any, ...]], done: int) -> list[Any]:
    """Each row through ``spec.validate``, the first ``done`` rows of the file before them."""
    validate = spec.validate
    valid = []
    for position, values in enumerate(rows, start=done + 1):
        result = validate(values)
        if type(result) is list:
            raise InvalidBackup(
                f"row {position} of {info.table} backup {info.id} breaks the rules: "
                + "; ".join(reason.message for reason in result),
                {
                    "table": info.table,
                    "backup_id": info.id,
                    "row": position,
                    "reasons": [reason.as_dict() for reason in result],
                },
            )
        valid.append(result)
    return valid


def _named(missing: Missing) -> str:
    shown = ", ".join(map(str, missing.first))
    more = missing.count - len(missing.first)
    return shown + (f" and {more} more" if more > 0 else "")


def _check_references(tx: HiringRows, staged: Mapping[str, StagedRows]) -> None:
    for table, spec in TABLES.items():
        for _, column in spec.references:
            parent = column.references or ""
            if table in staged:
                missing = staged[table].missing(column.name, staged.get(parent), MAX_NAMED_IDS)
                if missing.count:
                    raise RestoreRefused(
                        f"the {table} backup refers to {column.name} {_named(missing)}, "
                        f"which {parent} would not hold; restore {parent} from a matching backup in the same call",
                        {"table": table, "column": column.name, "missing_ids": missing.first},
                    )
            elif parent in staged:
                orphaned = tx.orphans(table, column.name, staged[parent], MAX_NAMED_IDS)
                if orphaned.count:
                    raise RestoreRefused(
                        f"restoring {parent} would orphan {table}: {column.name} {_named(orphaned)} "
                        f"is not in the backup; restore {table} in the same call",
                        {"table": parent, "orphaned_by": table, "missing_ids": orphaned.first},
                    )


def _kept_children(table: str, staged: Mapping[str, StagedRows]) -> bool:
    """Whether a table not being restored refers to ``table``; its rows must then be kept, not deleted."""
    return any(
        child not in staged and any(column.references == table for _, column in spec.references)
        for child, spec in TABLES.items()
    )


def _replace(
    tx: HiringRows,
    staged: Mapping[str, StagedRows],
    rows: Mapping[str, int],
    on_progress: BackupProgress | None,
    should_stop: Callable[[], bool] | None,
) -> dict[str, int]:
    _check_references(tx, staged)
    rows_before: dict[str, int] = {}
    for table in reversed(list(staged)):
        rows_before[table] = tx.count(table)
        if not _kept_children(table, staged):
            # A bulk load: the indexes are built once the rows are in, rather than grown row by row.
            tx.drop_secondary_indexes(table)
            tx.delete_all(table)
    for table, staged_rows in staged.items():
        if should_stop and should_stop():
            raise Cancelled()
        if _kept_children(table, staged):
            # Rows still referenced by a table we keep cannot be deleted; they are updated in place.
            tx.merge(table, staged_rows)
        else:
            tx.insert(table, staged_rows)
            tx.build_secondary_indexes(table)
        if on_progress:
            on_progress(table, "restore", rows[table], rows[table])
    return rows_before
