"""Backup files crafted to hurt a reader: a deflate bomb made of a real header and one enormous block."""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime

import fastavro

from core.backup.ports import BackupHeader
from infra.avro.format import AvroBackupFormat

MIB = 1 << 20


def avro_long(value: int) -> bytes:
    """An Avro long: zig-zag, then a little-endian varint."""
    number = (value << 1) ^ (value >> 63)
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def header_of(table: str, rows: int) -> tuple[bytes, bytes]:
    """The header a real backup of ``table`` saying ``rows`` rows starts with, and its sync marker."""
    out = io.BytesIO()
    AvroBackupFormat().write(out, BackupHeader(table, rows, 1, datetime.now(UTC)), [])
    data = out.getvalue()
    probe = io.BytesIO(data)
    fastavro.reader(probe)
    end = probe.tell()
    return data[:end], data[end - 16 : end]


def deflate_bomb(table: str = "departments", inflated_bytes: int = 290 * MIB, rows: int = 1) -> bytes:
    """A backup whose header is right and whose one block of ``rows`` rows inflates to ``inflated_bytes`` zeros.

    At 290 MiB the file is about 290 kB: the size that drove a worker to 500 MB before the reading limits.
    """
    header, sync = header_of(table, rows)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MIB)
    chunks = [deflater.compress(zeros) for _ in range(inflated_bytes // MIB)]
    block = b"".join(chunks) + deflater.flush()
    return header + avro_long(rows) + avro_long(len(block)) + block + sync
