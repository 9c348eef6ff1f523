"""The catalogue of backups in storage: their ids, their manifests, listing, finding and pruning them.

A backup is two blobs: ``backups/<table>/<id>.<ext>`` holding the rows, then
``backups/<table>/<id>.json``, the manifest, written last so that a backup is
listed only once it is complete. The id is the UTC time it was taken
(``20261122T031500123456Z``): it sorts in time order.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.storage import BlobStorage
from domain.entities import TABLES, table_spec
from domain.errors import BackupNotFound, InvalidBackup, InvalidBackupId, InvalidRequest, SourceNotFound

PREFIX = "backups"
# Rows read, checked or written at a time; bytes copied at a time.
CHUNK_ROWS = 5000
COPY_CHUNK = 1 << 20
BACKUP_ID = re.compile(r"\d{8}T\d{12}Z")
ID_FORMAT = "%Y%m%dT%H%M%S%fZ"

log = logging.getLogger("hireflow.backup")


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


def write_manifest(storage: BlobStorage, info: BackupInfo) -> None:
    """Write the manifest that lists the backup: only once its file is complete."""
    storage.write(info.manifest_name, json.dumps(_manifest(info), indent=2).encode("utf-8"))


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


def find_backup(storage: BlobStorage, table: str, backup_id: str | None = None) -> BackupInfo:
    """The backup of ``table`` with this id (default: its newest), from its manifest; the file is not read."""
    table = table_spec(table).name
    if backup_id is None:
        return newest_backup(storage, table)
    return _read_manifest(storage, table, check_backup_id(backup_id))


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
