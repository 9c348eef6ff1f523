"""``AvroBackupFormat``: one table per Avro file, deflate-compressed, with an explicit schema kept here."""

from __future__ import annotations

import json
import operator
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import fastavro

from core.ports import BackupFileReader, BackupFormat, BackupHeader
from domain.entities import TABLES
from domain.errors import InvalidBackup

SCHEMA_VERSION = 1
NAMESPACE = "hireflow.backup"
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}

# Field order is the table's column order; a change here is a new SCHEMA_VERSION.
SCHEMAS: dict[str, dict[str, Any]] = {
    "departments": {
        "type": "record",
        "name": "departments",
        "namespace": NAMESPACE,
        "fields": [{"name": "id", "type": "int"}, {"name": "department", "type": "string"}],
    },
    "jobs": {
        "type": "record",
        "name": "jobs",
        "namespace": NAMESPACE,
        "fields": [{"name": "id", "type": "int"}, {"name": "job", "type": "string"}],
    },
    "hired_employees": {
        "type": "record",
        "name": "hired_employees",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "id", "type": "int"},
            {"name": "name", "type": "string"},
            {"name": "datetime", "type": TIMESTAMP},
            {"name": "department_id", "type": "int"},
            {"name": "job_id", "type": "int"},
        ],
    },
}

_PARSED = {table: fastavro.parse_schema(schema) for table, schema in SCHEMAS.items()}
_READ_ERRORS = (EOFError, ValueError, TypeError, KeyError, zlib.error, StopIteration, OSError)


def _shape(schema: Any) -> tuple[str, list[tuple[str, Any]]]:
    """The schema's full name and its fields' names and types, as comparable values."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return ("", [])
    name = str(schema.get("name", ""))
    namespace = schema.get("namespace")
    if namespace and "." not in name:
        name = f"{namespace}.{name}"
    fields = []
    for field in schema.get("fields") or []:
        kind = field.get("type") if isinstance(field, dict) else None
        if isinstance(kind, dict) and set(kind) == {"type"}:
            kind = kind["type"]
        fields.append((field.get("name") if isinstance(field, dict) else None, kind))
    return (name, fields)


def _describe(shape: tuple[str, list[tuple[str, Any]]]) -> str:
    name, fields = shape
    return f"{name or 'not a record'}({', '.join(f'{n}: {json.dumps(t)}' for n, t in fields)})"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
# (position, name) of each timestamp field, per table.
_TIMESTAMPS = {
    table: tuple((i, f["name"]) for i, f in enumerate(schema["fields"]) if f["type"] == TIMESTAMP)
    for table, schema in SCHEMAS.items()
}


def _micros(value: Any) -> Any:
    """A datetime as Avro's timestamp-micros number; a naive one is UTC, as the database keeps it.

    Done here in integer arithmetic: fastavro would read a naive datetime as local time.
    """
    if isinstance(value, datetime):
        return (value - (_NAIVE_EPOCH if value.tzinfo is None else _EPOCH)) // _MICROSECOND
    return value


class AvroBackupReader(BackupFileReader):
    def __init__(self, records: Iterator[Any], header: BackupHeader, columns: tuple[str, ...]) -> None:
        self._records = records
        self.header = header
        self._columns = columns

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        columns = self._columns
        values = operator.itemgetter(*columns)
        position = 0
        while True:
            try:
                record = next(self._records)
            except StopIteration:
                return
            except _READ_ERRORS as error:
                raise InvalidBackup(
                    f"the {self.header.table} backup is damaged or cut short after {position} rows: {error}",
                    {"table": self.header.table, "rows_read": position},
                ) from None
            position += 1
            try:
                yield values(record)
            except KeyError:  # a missing field becomes None, which validation then refuses
                yield tuple(record.get(name) for name in columns)


class AvroBackupFormat(BackupFormat):
    extension = "avro"
    schema_version = SCHEMA_VERSION

    def write(self, out: IO[bytes], header: BackupHeader, rows: Iterable[tuple[Any, ...]]) -> int:
        columns = TABLES[header.table].column_names
        timestamps = _TIMESTAMPS[header.table]
        written = 0

        def records() -> Iterator[dict[str, Any]]:
            nonlocal written
            for row in rows:
                written += 1
                record = dict(zip(columns, row, strict=True))
                for index, name in timestamps:
                    record[name] = _micros(row[index])
                yield record

        metadata = {
            "hireflow.table": header.table,
            "hireflow.rows": str(header.rows),
            "hireflow.schema_version": str(header.schema_version),
            "hireflow.created": header.created.astimezone(UTC).isoformat(),
        }
        fastavro.writer(out, _PARSED[header.table], records(), codec="deflate", metadata=metadata)
        return written

    def read(self, stream: IO[bytes], table: str) -> BackupFileReader:
        try:
            reader = fastavro.reader(stream)
            metadata = reader.metadata
            schema = json.loads(metadata["avro.schema"])
        except _READ_ERRORS as error:
            raise InvalidBackup(f"the {table} backup is not a readable Avro file: {error}", {"table": table}) from None
        expected, found = _shape(SCHEMAS[table]), _shape(schema)
        if found != expected:
            raise InvalidBackup(
                f"the file is not a {table} backup: its schema is {_describe(found)}, expected {_describe(expected)}",
                {"table": table, "schema": found[0]},
            )
        header = self._header(metadata, table)
        return AvroBackupReader(iter(reader), header, TABLES[table].column_names)

    def _header(self, metadata: dict[str, Any], table: str) -> BackupHeader:
        try:
            header = BackupHeader(
                table=str(metadata["hireflow.table"]),
                rows=int(metadata["hireflow.rows"]),
                schema_version=int(metadata["hireflow.schema_version"]),
                created=datetime.fromisoformat(str(metadata["hireflow.created"])),
            )
        except (KeyError, ValueError) as error:
            raise InvalidBackup(f"the {table} backup lacks its header metadata ({error})", {"table": table}) from None
        if header.table != table:
            raise InvalidBackup(f"the backup holds table {header.table}, not {table}", {"table": table})
        if header.schema_version != SCHEMA_VERSION:
            raise InvalidBackup(
                f"the backup has schema version {header.schema_version}; this version reads {SCHEMA_VERSION}",
                {"table": table},
            )
        return header
