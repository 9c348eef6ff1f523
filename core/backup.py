"""Use cases that back up the hiring tables to storage and restore them, safely.

A backup is two blobs: ``backups/<table>/<id>.<ext>`` holding the rows, then
``backups/<table>/<id>.json``, the manifest, written last so that a backup is
listed only once it is complete. The id is the UTC time it was taken
(``20261122T031500123456Z``): it sorts in time order.

A restore checks every file completely before it touches a row, then replaces
all the chosen tables in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from core.clock import Clock, utcnow
from core.ports import BackupFormat, BackupHeader, BlobStorage, TableArchive, TableReplacement, WriteConflict
from domain.background_jobs import Cancelled
from domain.entities import TABLES, TableSpec, table_spec
from domain.errors import (
    BackupFailed,
    BackupNotFound,
    InvalidBackup,
    InvalidBackupId,
    InvalidRequest,
    RestoreRefused,
    SourceNotFound,
)

PREFIX = "backups"
CHUNK_ROWS = 5000
COPY_CHUNK = 1 << 20
MAX_NAMED_IDS = 20
BACKUP_ID = re.compile(r"\d{8}T\d{12}Z")
ID_FORMAT = "%Y%m%dT%H%M%S%fZ"

log = logging.getLogger("hireflow.backup")

# (table, phase, rows done, rows in all); phase is "backup", "verify" or "restore".
BackupProgress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class BackupInfo:
    table: str
    id: str
    created: datetime
    rows: int
    bytes: int
    sha256: str
    schema_version: int
    format: str = "avro"

    @property
    def data_name(self) -> str:
        return f"{PREFIX}/{self.table}/{self.id}.{self.format}"

    @property
    def manifest_name(self) -> str:
        return manifest_name(self.table, self.id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "id": self.id,
            "created": self.created.isoformat().replace("+00:00", "Z"),
            "rows": self.rows,
            "bytes": self.bytes,
            "checksum": f"sha256:{self.sha256}",
            "schema_version": self.schema_version,
        }


@dataclass
class RestoredTable:
    table: str
    backup_id: str
    rows: int
    rows_before: int = field(default=0)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "backup_id": self.backup_id, "rows": self.rows, "rows_before": self.rows_before}


def manifest_name(table: str, backup_id: str) -> str:
    return f"{PREFIX}/{table}/{backup_id}.json"


def backup_id_for(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ID_FORMAT)


def check_backup_id(backup_id: object) -> str:
    if not isinstance(backup_id, str) or not BACKUP_ID.fullmatch(backup_id):
        raise InvalidBackupId(
            "a backup id looks like 20261122T031500123456Z (UTC date, T, time to the microsecond, Z)",
            {"backup_id": str(backup_id)[:100]},
        )
    return backup_id


def chosen_tables(tables: Iterable[str] | None) -> list[str]:
    """The chosen tables, checked, in load order (parents first)."""
    if tables is None:
        return list(TABLES)
    chosen = {table_spec(name).name for name in tables}
    if not chosen:
        raise InvalidRequest("choose at least one table")
    return [name for name in TABLES if name in chosen]


def backup_tables(
    archive: TableArchive,
    storage: BlobStorage,
    backup_format: BackupFormat,
    tables: Iterable[str] | None = None,
    *,
    on_progress: BackupProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
    clock: Clock = utcnow,
    chunk_rows: int = CHUNK_ROWS,
) -> list[BackupInfo]:
    """Back up each chosen table (default: all) to its own file in storage, streaming the rows."""
    done = []
    for table in chosen_tables(tables):
        done.append(_backup_table(archive, storage, backup_format, table, on_progress, should_stop, clock, chunk_rows))
    return done


def _backup_table(
    archive: TableArchive,
    storage: BlobStorage,
    backup_format: BackupFormat,
    table: str,
    on_progress: BackupProgress | None,
    should_stop: Callable[[], bool] | None,
    clock: Clock,
    chunk_rows: int,
) -> BackupInfo:
    created = clock().astimezone(UTC)
    while storage.exists(manifest_name(table, backup_id_for(created))) or storage.exists(
        f"{PREFIX}/{table}/{backup_id_for(created)}.{backup_format.extension}"
    ):
        created += timedelta(microseconds=1)
    backup_id = backup_id_for(created)
    with tempfile.TemporaryFile() as out, archive.snapshot(table) as snapshot:
        total = snapshot.row_count
        header = BackupHeader(table, total, backup_format.schema_version, created)

        def rows() -> Iterator[tuple[Any, ...]]:
            count = 0
            for chunk in snapshot.chunks(chunk_rows):
                yield from chunk
                count += len(chunk)
                if on_progress:
                    on_progress(table, "backup", count, total)
                if should_stop and should_stop():
                    raise Cancelled()

        if on_progress:
            on_progress(table, "backup", 0, total)
        written = backup_format.write(out, header, rows())
        if written != total:
            raise BackupFailed(
                f"{table} changed while it was read ({written} rows read, {total} counted); nothing was saved",
                {"table": table},
            )
        digest, size = _sha256(out)
        info = BackupInfo(
            table, backup_id, created, total, size, digest, header.schema_version, backup_format.extension
        )
        out.seek(0)
        storage.write(info.data_name, out)
    storage.write(info.manifest_name, json.dumps(_manifest(info), indent=2).encode("utf-8"))
    log.info("backed up %s: %s rows to %s", table, total, info.data_name)
    return info


def _sha256(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(COPY_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _manifest(info: BackupInfo) -> dict[str, Any]:
    return {
        "table": info.table,
        "id": info.id,
        "created": info.created.isoformat(),
        "rows": info.rows,
        "bytes": info.bytes,
        "sha256": info.sha256,
        "schema_version": info.schema_version,
        "format": info.format,
    }


def _read_manifest(storage: BlobStorage, table: str, backup_id: str) -> BackupInfo:
    name = manifest_name(table, backup_id)
    try:
        with storage.open(name) as stream:
            data = json.loads(stream.read(1 << 16))
        info = BackupInfo(
            table=str(data["table"]),
            id=str(data["id"]),
            created=datetime.fromisoformat(str(data["created"])),
            rows=int(data["rows"]),
            bytes=int(data["bytes"]),
            sha256=str(data["sha256"]),
            schema_version=int(data["schema_version"]),
            format=str(data["format"]),
        )
    except SourceNotFound:
        raise BackupNotFound(
            f"there is no {table} backup with id {backup_id}", {"table": table, "backup_id": backup_id}
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidBackup(f"the manifest {name} is unreadable: {error}", {"table": table}) from None
    if info.table != table or info.id != backup_id or not re.fullmatch(r"[a-z]{1,10}", info.format):
        raise InvalidBackup(f"the manifest {name} describes another backup", {"table": table})
    return info


def list_backups(storage: BlobStorage, table: str | None = None) -> list[BackupInfo]:
    """Every complete backup (of one table, or of all), newest first."""
    prefix = f"{PREFIX}/{table_spec(table).name}/" if table else f"{PREFIX}/"
    found = []
    for blob in storage.list(prefix):
        parts = blob.name.split("/")
        if len(parts) != 3 or parts[1] not in TABLES or not parts[2].endswith(".json"):
            continue
        backup_id = parts[2].removesuffix(".json")
        if not BACKUP_ID.fullmatch(backup_id):
            continue
        try:
            found.append(_read_manifest(storage, parts[1], backup_id))
        except (InvalidBackup, BackupNotFound) as error:
            log.warning("skipping backup %s: %s", blob.name, error.message)
    return sorted(found, key=lambda b: (b.id, b.table), reverse=True)


def newest_backup(storage: BlobStorage, table: str) -> BackupInfo:
    backups = list_backups(storage, table)
    if not backups:
        raise BackupNotFound(f"there is no backup of {table} yet", {"table": table})
    return backups[0]


def prune_backups(storage: BlobStorage, keep: int, tables: Iterable[str] | None = None) -> list[BackupInfo]:
    """Delete all but the newest ``keep`` backups of each table; return what was deleted."""
    if type(keep) is not int or keep < 1:
        raise InvalidRequest("keep must be a whole number of at least 1", {"keep": keep})
    removed = []
    for table in chosen_tables(tables):
        for info in list_backups(storage, table)[keep:]:
            storage.delete(info.manifest_name)
            storage.delete(info.data_name)
            removed.append(info)
    return removed


def backup_and_prune(
    archive: TableArchive,
    storage: BlobStorage,
    backup_format: BackupFormat,
    keep: int,
    tables: Iterable[str] | None = None,
) -> list[BackupInfo]:
    """The scheduled backup: back up the tables, then keep only the newest ``keep`` backups of each."""
    if type(keep) is not int or keep < 1:
        raise InvalidRequest("keep must be a whole number of at least 1", {"keep": keep})
    made = backup_tables(archive, storage, backup_format, tables)
    prune_backups(storage, keep, [b.table for b in made])
    return made


def restore_table(
    archive: TableArchive,
    storage: BlobStorage,
    backup_format: BackupFormat,
    table: str,
    backup_id: str | None = None,
    **options: Any,
) -> list[RestoredTable]:
    """Replace one table's contents with a backup (default: its newest)."""
    return restore_tables(archive, storage, backup_format, {table: backup_id}, **options)


@dataclass
class _Checked:
    spec: TableSpec
    info: BackupInfo
    file: IO[bytes]
    ids: set[int]
    references: dict[str, set[int]]


def restore_tables(
    archive: TableArchive,
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
        with archive.replacement(tables) as tx:
            try:
                before = _replace(tx, backup_format, checked, on_progress, should_stop, chunk_rows)
                tx.commit()
            except WriteConflict as error:
                raise RestoreRefused(
                    "the tables changed while the restore ran, so nothing was restored; try again",
                    {"tables": tables, "reason": str(error)[:300]},
                ) from None
    for table, info in infos.items():
        log.info("restored %s from backup %s: %s rows", table, info.id, info.rows)
    return [RestoredTable(t, infos[t].id, infos[t].rows, before[t]) for t in tables]


def find_backup(storage: BlobStorage, table: str, backup_id: str | None = None) -> BackupInfo:
    """The backup of ``table`` with this id (default: its newest), from its manifest; the file is not read."""
    table = table_spec(table).name
    if backup_id is None:
        return newest_backup(storage, table)
    return _read_manifest(storage, table, check_backup_id(backup_id))


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


def _check_references(tx: TableReplacement, checked: Mapping[str, _Checked]) -> None:
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
    tx: TableReplacement,
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
