"""Back up tables to storage: each table streamed, in id order, into a file of the backup format, then its manifest."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, timedelta
from typing import IO, Any

from core.backup.catalogue import (
    CHUNK_ROWS,
    COPY_CHUNK,
    PREFIX,
    BackupInfo,
    backup_id_for,
    chosen_tables,
    manifest_name,
    prune_backups,
    write_manifest,
)
from core.backup.ports import BackupFormat, BackupHeader, BackupProgress, TableSnapshots
from core.clock import Clock, utcnow
from core.storage import BlobStorage
from domain.background_jobs import Cancelled
from domain.errors import BackupFailed, InvalidRequest

log = logging.getLogger("hireflow.backup")


def backup_tables(
    snapshots: TableSnapshots,
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
    return [
        _backup_table(snapshots, storage, backup_format, table, on_progress, should_stop, clock, chunk_rows)
        for table in chosen_tables(tables)
    ]


def _backup_table(
    snapshots: TableSnapshots,
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
    with tempfile.TemporaryFile() as out, snapshots.snapshot(table) as snapshot:
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
    write_manifest(storage, info)
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


def backup_and_prune(
    snapshots: TableSnapshots,
    storage: BlobStorage,
    backup_format: BackupFormat,
    keep: int,
    tables: Iterable[str] | None = None,
) -> list[BackupInfo]:
    """The scheduled backup: back up the tables, then keep only the newest ``keep`` backups of each."""
    if type(keep) is not int or keep < 1:
        raise InvalidRequest("keep must be a whole number of at least 1", {"keep": keep})
    made = backup_tables(snapshots, storage, backup_format, tables)
    prune_backups(storage, keep, [b.table for b in made])
    return made
