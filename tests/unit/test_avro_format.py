from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.ports import BackupHeader
from domain.entities import TABLES
from domain.errors import InvalidBackup
from infra.avro.format import SCHEMAS, AvroBackupFormat

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


def test_a_file_cut_short_is_refused_while_reading() -> None:
    data = written("jobs", [(i, f"Job {i}") for i in range(1, 500)]).getvalue()
    reader = AvroBackupFormat().read(io.BytesIO(data[:-40]), "jobs")
    with pytest.raises(InvalidBackup, match="damaged or cut short"):
        list(reader)
