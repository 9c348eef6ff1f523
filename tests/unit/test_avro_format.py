from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime, timedelta, timezone

import fastavro
import pytest

from core.backup.ports import BackupHeader
from domain.entities import TABLES
from domain.errors import InvalidBackup
from infra.avro.format import MAX_BLOCK_BYTES, SCHEMAS, AvroBackupFormat
from tests.crafted_backups import MIB, avro_long, deflate_bomb, header_of

CREATED = datetime(2026, 11, 22, 3, 15, tzinfo=UTC)


def written(table: str, rows: list[tuple[object, ...]], header_rows: int | None = None) -> io.BytesIO:
    out = io.BytesIO()
    header = BackupHeader(table, len(rows) if header_rows is None else header_rows, 1, CREATED)
    AvroBackupFormat().write(out, header, rows)
    out.seek(0)
    return out


def test_each_schema_has_the_tables_columns_in_order() -> None:
    for table, spec in TABLES.items():
        assert tuple(f["name"] for f in SCHEMAS[table]["fields"]) == spec.column_names


def test_the_hire_datetime_comes_back_as_the_same_utc_instant_to_the_microsecond() -> None:
    naive_utc = datetime(2021, 11, 7, 2, 48, 42, 123456)
    elsewhere = datetime(2021, 11, 7, 4, 48, 42, 123456, tzinfo=timezone(timedelta(hours=2)))
    stream = written("hired_employees", [(1, "Ana", naive_utc, 1, 1), (2, "Bo", elsewhere, 1, 1)])
    rows = list(AvroBackupFormat().read(stream, "hired_employees"))
    assert rows[0][2] == naive_utc.replace(tzinfo=UTC)
    assert rows[1][2] == naive_utc.replace(tzinfo=UTC)
    assert rows[0][2].tzinfo is not None


def test_the_header_carries_table_row_count_schema_version_and_creation_time() -> None:
    reader = AvroBackupFormat().read(written("jobs", [(1, "Editor")]), "jobs")
    assert reader.header == BackupHeader("jobs", 1, 1, CREATED)


def test_the_file_is_deflate_compressed() -> None:
    assert b"deflate" in written("jobs", [(1, "Editor")]).getvalue()[:400]


def test_a_file_of_another_table_is_refused() -> None:
    with pytest.raises(InvalidBackup, match="not a departments backup"):
        AvroBackupFormat().read(written("jobs", [(1, "Editor")]), "departments")


def test_a_file_that_is_not_avro_is_refused() -> None:
    with pytest.raises(InvalidBackup, match="not a readable Avro file"):
        AvroBackupFormat().read(io.BytesIO(b"id,job\n1,Editor\n"), "jobs")


def test_a_file_cut_short_is_refused_before_any_row_is_read() -> None:
    data = written("jobs", [(i, f"Job {i}") for i in range(1, 500)]).getvalue()
    with pytest.raises(InvalidBackup, match="damaged or cut short"):
        AvroBackupFormat().read(io.BytesIO(data[:-40]), "jobs")


def test_a_deflate_bomb_is_refused_before_any_row_is_read() -> None:
    bomb = deflate_bomb("departments", inflated_bytes=MAX_BLOCK_BYTES + MIB)

    with pytest.raises(InvalidBackup, match="refused before any row is read: block 1 inflates") as refused:
        AvroBackupFormat().read(io.BytesIO(bomb), "departments")

    details = refused.value.details
    assert (details["table"], details["block"], details["limit_bytes"]) == ("departments", 1, MAX_BLOCK_BYTES)


def test_a_block_larger_than_the_limit_is_refused_by_its_declared_size_without_reading_it() -> None:
    header, sync = header_of("jobs", 1)
    data = header + avro_long(1) + avro_long(MAX_BLOCK_BYTES + 1) + b"\0" * 100

    with pytest.raises(InvalidBackup, match=f"block 1 takes {MAX_BLOCK_BYTES + 1} bytes compressed"):
        AvroBackupFormat().read(io.BytesIO(data), "jobs")


def test_a_block_that_claims_more_rows_than_it_has_bytes_is_refused() -> None:
    header, sync = header_of("jobs", 10**12)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = block.compress(bytes(1000)) + block.flush()
    data = header + avro_long(10**12) + avro_long(len(deflated)) + deflated + sync

    with pytest.raises(InvalidBackup, match="claims 1000000000000 rows in 1000 bytes"):
        AvroBackupFormat().read(io.BytesIO(data), "jobs")


def test_a_block_without_the_sync_marker_is_refused() -> None:
    data = bytearray(written("jobs", [(1, "Editor")]).getvalue())
    data[-1] ^= 0xFF

    with pytest.raises(InvalidBackup, match="does not end with the file's sync marker"):
        AvroBackupFormat().read(io.BytesIO(bytes(data)), "jobs")


def test_a_file_whose_blocks_hold_fewer_rows_than_its_header_says_is_refused() -> None:
    with pytest.raises(InvalidBackup, match="holds 2 rows in its blocks but its header says 5"):
        AvroBackupFormat().read(written("jobs", [(1, "Editor"), (2, "Clerk")], header_rows=5), "jobs")


@pytest.mark.parametrize("codec", ["bzip2", "xz"])
def test_a_file_compressed_with_another_codec_is_refused(codec: str) -> None:
    out = io.BytesIO()
    metadata = {"hireflow.table": "jobs", "hireflow.rows": "1", "hireflow.schema_version": "1"}
    metadata["hireflow.created"] = CREATED.isoformat()
    fastavro.writer(out, fastavro.parse_schema(SCHEMAS["jobs"]), [{"id": 1, "job": "Editor"}], codec, metadata=metadata)

    with pytest.raises(InvalidBackup, match=f"compressed with '{codec}'; hireflow reads deflate or null"):
        AvroBackupFormat().read(io.BytesIO(out.getvalue()), "jobs")


def test_a_header_larger_than_a_mebibyte_is_refused() -> None:
    out = io.BytesIO()
    metadata = {"hireflow.padding": "x" * (2 * MIB)}
    fastavro.writer(out, fastavro.parse_schema(SCHEMAS["jobs"]), [{"id": 1, "job": "Editor"}], metadata=metadata)

    with pytest.raises(InvalidBackup, match="its header does not end within its first 1048576 bytes"):
        AvroBackupFormat().read(io.BytesIO(out.getvalue()), "jobs")


def test_an_uncompressed_file_within_the_limits_is_read() -> None:
    out = io.BytesIO()
    metadata = {"hireflow.table": "jobs", "hireflow.rows": "300", "hireflow.schema_version": "1"}
    metadata["hireflow.created"] = CREATED.isoformat()
    records = [{"id": n, "job": f"Job {n}"} for n in range(1, 301)]
    fastavro.writer(out, fastavro.parse_schema(SCHEMAS["jobs"]), records, "null", metadata=metadata, sync_interval=500)

    rows = list(AvroBackupFormat().read(io.BytesIO(out.getvalue()), "jobs"))

    assert rows == [(n, f"Job {n}") for n in range(1, 301)]


def test_a_file_of_many_blocks_reads_back_every_row() -> None:
    rows = [(n, f"Job number {n}") for n in range(1, 20_001)]
    data = written("jobs", rows).getvalue()

    probe = io.BytesIO(data)
    fastavro.reader(probe)
    sync = data[probe.tell() - 16 : probe.tell()]

    assert data.count(sync) > 10  # the header's, then one after each block
    assert list(AvroBackupFormat().read(io.BytesIO(data), "jobs")) == rows
