"""``AvroBackupFormat``: one table per Avro file, deflate-compressed, with an explicit schema kept here."""

from __future__ import annotations

import io
import json
import operator
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import chain, count, repeat
from operator import itemgetter
from typing import IO, Any

import fastavro

from core.backup.ports import BackupFileReader, BackupFormat, BackupHeader
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

# Writing: deflate level 1, in fastavro's blocks of 16 kB of records. Measured on 300 000 employees
# (CPU seconds of fastavro.writer, best of 7, 2026-12-06): no compression 0.83 s for 7.71 MB; deflate
# level 1: 0.92 s, 3.92 MB; level 3: 0.96 s, 3.75 MB; level 6 (zlib's default): 0.98 s, 3.64 MB;
# level 9: 0.99 s, 3.64 MB. Level 1 halves the file for the least time, 8 % larger than level 6.
DEFLATE_LEVEL = 1

# Reading limits, so that a crafted file cannot make a reader hold more than a few blocks in memory.
# fastavro writes a block every 16 kB of records, so a real backup is far below each of them.
MAX_HEADER_BYTES = 1 << 20
MAX_BLOCK_BYTES = 8 << 20  # compressed, and once inflated
CODECS = ("deflate", "null")
SYNC_SIZE = 16
_SCAN_CHUNK = 1 << 16
_INFLATE_CHUNK = 1 << 20


def _shape(schema: Any) -> tuple[str, list[tuple[str | None, Any]]]:
    """The schema's full name and its fields' names and types, as comparable values."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return ("", [])
    name = str(schema.get("name", ""))
    namespace = schema.get("namespace")
    if namespace and "." not in name:
        name = f"{namespace}.{name}"
    fields: list[tuple[str | None, Any]] = []
    for field in schema.get("fields") or []:
        kind = field.get("type") if isinstance(field, dict) else None
        if isinstance(kind, dict) and set(kind) == {"type"}:
            kind = kind["type"]
        fields.append((field.get("name") if isinstance(field, dict) else None, kind))
    return (name, fields)


def _describe(shape: tuple[str, list[tuple[str | None, Any]]]) -> str:
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


def _record(columns: tuple[str, ...], timestamps: tuple[tuple[int, str], ...], row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(columns, row, strict=True))
    for index, name in timestamps:
        record[name] = _micros(row[index])
    return record


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
        remaining = iter(rows)
        first = next(remaining, None)
        rows = remaining if first is None else chain((first,), remaining)
        records: Iterator[dict[str, Any]]
        if first is not None and any(type(first[index]) is not int for index, _ in timestamps):
            records = map(partial(_record, columns, timestamps), rows)
        else:
            # The database gave every timestamp as micros already (a column's values come in one type):
            # the records are made without a line of Python per row.
            records = map(dict, map(zip, repeat(columns), rows))
        written = count()
        metadata = {
            "hireflow.table": header.table,
            "hireflow.rows": str(header.rows),
            "hireflow.schema_version": str(header.schema_version),
            "hireflow.created": header.created.astimezone(UTC).isoformat(),
        }
        fastavro.writer(
            out,
            _PARSED[header.table],
            map(itemgetter(0), zip(records, written, strict=False)),
            codec="deflate",
            codec_compression_level=DEFLATE_LEVEL,
            metadata=metadata,
        )
        return next(written)

    def read(self, stream: IO[bytes], table: str) -> BackupFileReader:
        """Check the header and the size of every block (see ``check_blocks``) before a row is decoded."""
        start = stream.tell()
        metadata, schema, codec, sync = _read_header(stream, table)
        expected, found = _shape(SCHEMAS[table]), _shape(schema)
        if found != expected:
            raise InvalidBackup(
                f"the file is not a {table} backup: its schema is {_describe(found)}, expected {_describe(expected)}",
                {"table": table, "schema": found[0]},
            )
        header = self._header(metadata, table)
        if codec not in CODECS:
            raise InvalidBackup(
                f"the {table} backup is compressed with {codec!r}; hireflow reads {' or '.join(CODECS)}",
                {"table": table, "codec": codec[:50]},
            )
        check_blocks(stream, table, codec, sync, header.rows)
        stream.seek(start)
        try:
            reader = fastavro.reader(stream)
        except _READ_ERRORS as error:
            raise InvalidBackup(f"the {table} backup is not a readable Avro file: {error}", {"table": table}) from None
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


def _read_header(stream: IO[bytes], table: str) -> tuple[dict[str, Any], Any, str, bytes]:
    """The metadata, schema, codec and sync marker of the file; the stream is left just after the header."""
    start = stream.tell()
    head = stream.read(MAX_HEADER_BYTES)
    probe = io.BytesIO(head)  # fastavro parses the header from at most MAX_HEADER_BYTES
    try:
        metadata = dict(fastavro.reader(probe).metadata)
        schema = json.loads(metadata["avro.schema"])
    except _READ_ERRORS as error:
        reason = str(error)
        if len(head) == MAX_HEADER_BYTES:
            reason = f"its header does not end within its first {MAX_HEADER_BYTES} bytes"
        raise InvalidBackup(f"the {table} backup is not a readable Avro file: {reason}", {"table": table}) from None
    header_end = probe.tell()
    stream.seek(start + header_end)
    return metadata, schema, str(metadata.get("avro.codec", "null")), head[header_end - SYNC_SIZE : header_end]


def check_blocks(stream: IO[bytes], table: str, codec: str, sync: bytes, rows: int) -> None:
    """Walk every block of the file, inflating it piece by piece, before fastavro reads any.

    A block larger than ``MAX_BLOCK_BYTES``, compressed or inflated (a deflate bomb), a block that
    claims more rows than it has bytes, a missing sync marker, or blocks that hold another number of
    rows than the header says, make the file ``InvalidBackup``, in memory bounded by the limits.
    """
    position = stream.tell()
    total = 0
    block = 0
    while True:
        block += 1
        details = {"table": table, "block": block, "offset": position}
        try:
            count = _read_long(stream)
            if count is None:
                break
            size = _read_long(stream)
            if size is None or count < 0 or size < 0:
                raise ValueError(f"block {block} has a negative or missing size")
            if size > MAX_BLOCK_BYTES:
                raise _TooLarge(f"block {block} takes {size} bytes compressed")
            inflated = _inflated_size(stream, size, MAX_BLOCK_BYTES) if codec == "deflate" else _skip(stream, size)
            if inflated > MAX_BLOCK_BYTES:
                raise _TooLarge(f"block {block} inflates to more than {MAX_BLOCK_BYTES} bytes")
            if count > inflated:
                raise ValueError(f"block {block} claims {count} rows in {inflated} bytes")
            if stream.read(SYNC_SIZE) != sync:
                raise ValueError(f"block {block} does not end with the file's sync marker")
        except _TooLarge as error:
            raise InvalidBackup(
                f"the {table} backup is refused before any row is read: {error}, over the {MAX_BLOCK_BYTES >> 20} MiB "
                "a block may take (hireflow writes blocks of about 16 kB, so the file is damaged or was not made "
                "by hireflow)",
                {**details, "limit_bytes": MAX_BLOCK_BYTES},
            ) from None
        except (EOFError, ValueError, zlib.error, OSError) as error:
            raise InvalidBackup(f"the {table} backup is damaged or cut short: {error}", details) from None
        total += count
        position = stream.tell()
    if total != rows:
        raise InvalidBackup(
            f"the {table} backup holds {total} rows in its blocks but its header says {rows}",
            {"table": table, "rows": total, "header_rows": rows},
        )


class _TooLarge(Exception):
    pass


def _read_long(stream: IO[bytes]) -> int | None:
    """An Avro long (zig-zag varint); None at the very end of the file."""
    value = shift = 0
    for index in range(10):
        byte = stream.read(1)
        if not byte:
            if index == 0:
                return None
            raise EOFError("the file ends inside a block header")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
    raise ValueError("a block header holds a number longer than 10 bytes")


def _inflated_size(stream: IO[bytes], size: int, limit: int) -> int:
    """How many bytes ``size`` deflated bytes inflate to, counting no further than just past ``limit``."""
    inflater = zlib.decompressobj(-15)
    inflated = 0
    remaining = size
    while remaining:
        data = stream.read(min(remaining, _SCAN_CHUNK))
        if not data:
            raise EOFError("the file ends inside a block")
        remaining -= len(data)
        while data:
            inflated += len(inflater.decompress(data, _INFLATE_CHUNK))
            if inflated > limit:
                return inflated
            data = inflater.unconsumed_tail
    return inflated


def _skip(stream: IO[bytes], size: int) -> int:
    """Read past an uncompressed block of ``size`` bytes; return its size."""
    remaining = size
    while remaining:
        data = stream.read(min(remaining, _SCAN_CHUNK))
        if not data:
            raise EOFError("the file ends inside a block")
        remaining -= len(data)
    return size
