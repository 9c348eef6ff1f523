"""Restore tables from backups: every file checked completely before a row is touched, then every chosen
table replaced in one transaction."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

from core.backup.catalogue import CHUNK_ROWS, COPY_CHUNK, BackupInfo, chosen_tables, find_backup
from core.backup.ports import BackupFormat, BackupProgress
from core.storage import BlobStorage
from core.unit_of_work import HiringRows, UnitOfWorkFactory, WriteConflict
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


@dataclass
class _Checked:
    spec: TableSpec
    info: BackupInfo
    file: IO[bytes]
    ids: set[int]
    references: dict[str, set[int]]


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

    Every file is checked first: checksum, schema, row count, each row against the
    insert rules, unique ids. Then, in one transaction, the references are checked
    against what the database will hold and the tables are replaced, children
    deleted before parents, parents inserted before children. On any error
    nothing changes.
    """
    chosen = dict.fromkeys(backups, None) if not isinstance(backups, Mapping) else dict(backups)
    tables = chosen_tables(chosen)
    infos = {table: find_backup(storage, table, chosen[table]) for table in tables}
    for info in infos.values():
        if info.format != backup_format.extension:
            raise InvalidBackup(f"backup {info.id} of {info.table} is {info.format}, not {backup_format.extension}")
    with ExitStack() as stack:
        checked: dict[str, _Checked] = {}
        for table, info in infos.items():
            local = stack.enter_context(tempfile.TemporaryFile())
            _download(storage, info, local)
            checked[table] = _verify(backup_format, info, local, on_progress, should_stop)
        with uow() as tx:
            try:
                # The locks come first, so that no writer slips a row in between the checks and the replacement.
                tx.rows.lock(tables)
                before = _replace(tx.rows, backup_format, checked, on_progress, should_stop, chunk_rows)
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


def _verify(
    backup_format: BackupFormat,
    info: BackupInfo,
    file: IO[bytes],
    on_progress: BackupProgress | None,
    should_stop: Callable[[], bool] | None,
) -> _Checked:
    spec = TABLES[info.table]
    reader = backup_format.read(file, info.table)
    if reader.header.rows != info.rows:
        raise InvalidBackup(
            f"{info.table} backup {info.id} says {reader.header.rows} rows but its manifest says {info.rows}",
            {"table": info.table, "backup_id": info.id},
        )
    ids: set[int] = set()
    references: dict[str, set[int]] = {column.name: set() for _, column in spec.references}
    count = 0
    for entity in _entities(spec, info, reader):
        count += 1
        if entity[0] in ids:
            raise InvalidBackup(
                f"{info.table} backup {info.id} holds id {entity[0]} twice",
                {"table": info.table, "backup_id": info.id, "id": entity[0]},
            )
        ids.add(entity[0])
        for index, column in spec.references:
            references[column.name].add(entity[index])
        if count % CHUNK_ROWS == 0:
            if on_progress:
                on_progress(info.table, "verify", count, info.rows)
            if should_stop and should_stop():
                raise Cancelled()
    if count != info.rows:
        raise InvalidBackup(
            f"{info.table} backup {info.id} holds {count} rows but says {info.rows}",
            {"table": info.table, "backup_id": info.id},
        )
    if on_progress:
        on_progress(info.table, "verify", count, info.rows)
    file.seek(0)
    return _Checked(spec, info, file, ids, references)


def _entities(spec: TableSpec, info: BackupInfo, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The backup's rows through the same validation as an insert; the first bad row stops the restore."""
    for position, values in enumerate(rows, start=1):
        result = spec.validate(values)
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
        yield tuple(result)


def _named(ids: Iterable[int]) -> str:
    ordered = sorted(ids)
    shown = ", ".join(map(str, ordered[:MAX_NAMED_IDS]))
    return shown + (f" and {len(ordered) - MAX_NAMED_IDS} more" if len(ordered) > MAX_NAMED_IDS else "")


def _check_references(tx: HiringRows, checked: Mapping[str, _Checked]) -> None:
    for table, spec in TABLES.items():
        for _, column in spec.references:
            parent = column.references or ""
            if table in checked:
                wanted = checked[table].references[column.name]
                available = checked[parent].ids if parent in checked else tx.ids(parent)
                missing = wanted - available
                if missing:
                    raise RestoreRefused(
                        f"the {table} backup refers to {column.name} {_named(missing)}, "
                        f"which {parent} would not hold; restore {parent} from a matching backup in the same call",
                        {"table": table, "column": column.name, "missing_ids": sorted(missing)[:MAX_NAMED_IDS]},
                    )
            elif parent in checked:
                orphaned = tx.referenced_ids(table, column.name) - checked[parent].ids
                if orphaned:
                    raise RestoreRefused(
                        f"restoring {parent} would orphan {table}: {column.name} {_named(orphaned)} "
                        f"is not in the backup; restore {table} in the same call",
                        {"table": parent, "orphaned_by": table, "missing_ids": sorted(orphaned)[:MAX_NAMED_IDS]},
                    )


def _kept_children(table: str, checked: Mapping[str, _Checked]) -> bool:
    """Whether a table not being restored refers to ``table``; its rows must then be kept, not deleted."""
    return any(
        child not in checked and any(column.references == table for _, column in spec.references)
        for child, spec in TABLES.items()
    )


def _replace(
    tx: HiringRows,
    backup_format: BackupFormat,
    checked: Mapping[str, _Checked],
    on_progress: BackupProgress | None,
    should_stop: Callable[[], bool] | None,
    chunk_rows: int,
) -> dict[str, int]:
    _check_references(tx, checked)
    rows_before: dict[str, int] = {}
    kept: dict[str, set[int]] = {}
    for table in reversed(list(checked)):
        current = tx.ids(table)
        rows_before[table] = len(current)
        if _kept_children(table, checked):
            # Rows still referenced by a table we keep cannot be deleted; they are updated in place.
            tx.delete(table, current - checked[table].ids)
            kept[table] = current & checked[table].ids
        else:
            tx.delete_all(table)
            kept[table] = set()
    for table, item in checked.items():
        existing = kept[table]
        reader = backup_format.read(item.file, table)
        done = 0
        for chunk in _chunked(_entities(item.spec, item.info, reader), chunk_rows):
            updates = [row for row in chunk if row[0] in existing]
            inserts = [row for row in chunk if row[0] not in existing] if updates else chunk
            if updates:
                tx.update(table, updates)
            if inserts:
                tx.insert(table, inserts)
            done += len(chunk)
            if on_progress:
                on_progress(table, "restore", done, item.info.rows)
            if should_stop and should_stop():
                raise Cancelled()
    return rows_before


def _chunked(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
