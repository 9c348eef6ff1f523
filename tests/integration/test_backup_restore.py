from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from core.backup.back_up import backup_tables
from core.backup.catalogue import BackupInfo, list_backups
from core.backup.ports import BackupHeader, TableSnapshot
from core.backup.restore import restore_table, restore_tables
from core.ingest.loader import ingest_sources
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWork, WriteConflict
from domain.entities import TABLES
from domain.errors import BackupNotFound, InvalidBackup, InvalidBackupId, RestoreRefused, UnknownTable
from infra.avro.format import AvroBackupFormat
from infra.db.engine import create_schema, make_engine
from infra.db.schema import HIRING_TABLES
from infra.db.unit_of_work import SqlDatabase
from infra.storage.local import LocalFolderStorage

FORMAT = AvroBackupFormat()
FORGED_ID = "20300101T000000000000Z"


@pytest.fixture
def backup_storage(tmp_path: Path) -> BlobStorage:
    return LocalFolderStorage(tmp_path / "storage")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def archive(engine: Engine, challenge_dir: Path) -> SqlDatabase:
    """The challenge data loaded, as every table of a real database."""
    sources = {table: f"{table}.csv" for table in TABLES}
    ingest_sources(SqlDatabase(engine), LocalFolderStorage(challenge_dir), sources)
    return SqlDatabase(engine)


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
            for name, table in HIRING_TABLES.items()
        }


def vandalise(engine: Engine) -> None:
    employees, departments = HIRING_TABLES["hired_employees"], HIRING_TABLES["departments"]
    with engine.begin() as conn:
        conn.execute(delete(employees).where(employees.c.id < 100))
        conn.execute(update(employees).values(name="Changed", datetime=datetime(2000, 1, 1)))
        conn.execute(update(departments).where(departments.c.id == 1).values(department="Renamed"))


def forge(
    storage: BlobStorage, table: str, records: list[tuple[Any, ...]], header_table: str | None = None, **changes: Any
) -> str:
    """Store a backup file and a manifest that matches it, as an attacker or a bug could."""
    out = io.BytesIO()
    header_table = header_table or table
    FORMAT.write(out, BackupHeader(header_table, len(records), 1, datetime.now(UTC)), records)
    data = out.getvalue()
    store_forged(storage, table, data, **{"rows": len(records), **changes})
    return FORGED_ID


def store_forged(storage: BlobStorage, table: str, data: bytes, **changes: Any) -> None:
    storage.write(f"backups/{table}/{FORGED_ID}.avro", data)
    manifest = {
        "table": table,
        "id": FORGED_ID,
        "created": "2030-01-01T00:00:00+00:00",
        "rows": 0,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "schema_version": 1,
        "format": "avro",
    }
    manifest.update(changes)
    storage.write(f"backups/{table}/{FORGED_ID}.json", json.dumps(manifest).encode())


def test_restoring_every_table_brings_back_each_row_exactly(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    original = contents(engine)
    backup_tables(archive, backup_storage, FORMAT)
    vandalise(engine)
    assert contents(engine) != original
    restored = restore_tables(archive, backup_storage, FORMAT, list(TABLES))
    assert contents(engine) == original
    assert [(r.table, r.rows) for r in restored] == [(t, len(original[t])) for t in TABLES]
    assert original["hired_employees"][0][2] == datetime(2021, 11, 7, 2, 48, 42)


def test_restoring_employees_alone_brings_back_deleted_and_changed_rows(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    original = contents(engine)
    backup_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    vandalise(engine)
    restore_table(archive, backup_storage, FORMAT, "hired_employees")
    assert contents(engine)["hired_employees"] == original["hired_employees"]


def test_restoring_departments_alone_keeps_the_rows_employees_use(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    original = contents(engine)
    backup_tables(archive, backup_storage, FORMAT, ["departments"])
    vandalise(engine)
    restore_table(archive, backup_storage, FORMAT, "departments")
    assert contents(engine)["departments"] == original["departments"]


def test_restore_uses_the_newest_backup_by_default(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT, ["jobs"])
    jobs = HIRING_TABLES["jobs"]
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == 1).values(job="Chief Backup Officer"))
    expected = contents(engine)["jobs"]
    [newest] = backup_tables(archive, backup_storage, FORMAT, ["jobs"])
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == 1).values(job="Changed again"))
    [restored] = restore_table(archive, backup_storage, FORMAT, "jobs")
    assert restored.backup_id == newest.id
    assert contents(engine)["jobs"] == expected


def test_restoring_departments_that_would_orphan_employees_is_refused_naming_the_ids(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT)
    departments_id = forge(backup_storage, "departments", [(1, "Product Management"), (2, "Sales")])
    before = contents(engine)
    with pytest.raises(RestoreRefused) as refused:
        restore_table(archive, backup_storage, FORMAT, "departments", departments_id)
    assert "would orphan hired_employees: department_id 3, 4, 5" in refused.value.message
    assert refused.value.details["missing_ids"][:3] == [3, 4, 5]
    assert contents(engine) == before


def test_restoring_departments_with_employees_in_the_same_call_works(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT, ["jobs"])
    employee = (7, "Ana Silva", datetime(2021, 3, 1, 9, 30, 15, 250000), 2, 1)
    forge(backup_storage, "departments", [(1, "Product Management"), (2, "Sales")])
    forge(backup_storage, "hired_employees", [employee])
    restore_tables(archive, backup_storage, FORMAT, ["departments", "jobs", "hired_employees"])
    after = contents(engine)
    assert after["departments"] == [(1, "Product Management"), (2, "Sales")]
    assert after["hired_employees"] == [employee]


def test_restoring_employees_that_point_at_missing_departments_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_id = forge(backup_storage, "hired_employees", [(1, "Ana Silva", datetime(2021, 3, 1), 99, 1)])
    before = contents(engine)
    with pytest.raises(RestoreRefused, match="department_id 99"):
        restore_table(archive, backup_storage, FORMAT, "hired_employees", backup_id)
    assert contents(engine) == before


def test_restoring_an_unknown_table_is_refused(archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage):
    before = contents(engine)
    with pytest.raises(UnknownTable):
        restore_table(archive, backup_storage, FORMAT, "employees")
    assert contents(engine) == before


def test_restoring_an_unknown_backup_id_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT, ["jobs"])
    before = contents(engine)
    with pytest.raises(BackupNotFound):
        restore_table(archive, backup_storage, FORMAT, "jobs", "19990101T000000000000Z")
    assert contents(engine) == before


@pytest.mark.parametrize("name", ["../departments/20300101T000000000000Z", "/etc/passwd", "..", "a/../../b"])
def test_restoring_a_backup_name_that_escapes_the_folder_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage, name: str
) -> None:
    before = contents(engine)
    with pytest.raises(InvalidBackupId):
        restore_table(archive, backup_storage, FORMAT, "jobs", name)
    assert contents(engine) == before


def test_restoring_a_truncated_file_is_refused_by_its_checksum(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    [info] = backup_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    with backup_storage.open(info.data_name) as stream:
        data = stream.read()
    backup_storage.write(info.data_name, data[: len(data) // 2])
    vandalise(engine)
    before = contents(engine)
    with pytest.raises(InvalidBackup, match="does not match its checksum"):
        restore_table(archive, backup_storage, FORMAT, "hired_employees")
    assert contents(engine) == before


def test_restoring_a_truncated_file_with_a_matching_manifest_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    [info] = backup_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    with backup_storage.open(info.data_name) as stream:
        data = stream.read()
    store_forged(backup_storage, "hired_employees", data[:-100], rows=info.rows)
    vandalise(engine)
    before = contents(engine)
    with pytest.raises(InvalidBackup, match="damaged or cut short"):
        restore_table(archive, backup_storage, FORMAT, "hired_employees", FORGED_ID)
    assert contents(engine) == before


def test_restoring_a_file_of_another_tables_schema_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_id = forge(backup_storage, "departments", [(1, "Recruiter")], header_table="jobs")
    before = contents(engine)
    with pytest.raises(InvalidBackup, match="not a departments backup"):
        restore_table(archive, backup_storage, FORMAT, "departments", backup_id)
    assert contents(engine) == before


@pytest.mark.parametrize(
    ("row", "reason"),
    [((2, "   "), "department is required"), ((0, "Legal"), "id must be between 1"), ((2, "A\x07B"), "control")],
)
def test_restoring_a_file_with_a_bad_row_is_refused_naming_the_row(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage, row: tuple[Any, ...], reason: str
) -> None:
    backup_id = forge(backup_storage, "departments", [(1, "Sales"), row])
    before = contents(engine)
    with pytest.raises(InvalidBackup, match=f"row 2 of departments backup .*{reason}"):
        restore_table(archive, backup_storage, FORMAT, "departments", backup_id)
    assert contents(engine) == before


def test_restoring_a_file_with_a_repeated_id_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_id = forge(backup_storage, "jobs", [(1, "Editor"), (1, "Recruiter")])
    before = contents(engine)
    with pytest.raises(InvalidBackup, match="holds id 1 twice"):
        restore_table(archive, backup_storage, FORMAT, "jobs", backup_id)
    assert contents(engine) == before


def test_restoring_a_file_whose_row_count_disagrees_with_its_manifest_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_id = forge(backup_storage, "jobs", [(1, "Editor")], rows=2)
    before = contents(engine)
    with pytest.raises(InvalidBackup, match="manifest says 2"):
        restore_table(archive, backup_storage, FORMAT, "jobs", backup_id)
    assert contents(engine) == before


class FailingArchive:
    """The real database, except that writing to one table fails."""

    def __init__(self, database: SqlDatabase, failing_table: str) -> None:
        self.database = database
        self.failing_table = failing_table

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        with self.database() as tx:
            original_insert = tx.rows.insert

            def insert(table: str, rows: Any) -> None:
                if table == self.failing_table:
                    raise WriteConflict("the disk is full")
                original_insert(table, rows)

            tx.rows.insert = insert  # type: ignore[method-assign]
            yield tx


def test_a_failure_halfway_through_a_restore_leaves_every_table_as_it_was(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT)
    vandalise(engine)
    before = contents(engine)
    with pytest.raises(RestoreRefused):
        restore_tables(FailingArchive(archive, "hired_employees"), backup_storage, FORMAT, list(TABLES))
    assert contents(engine) == before


def test_backups_are_listed_with_rows_bytes_and_checksum(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    made = backup_tables(archive, backup_storage, FORMAT)
    listed = list_backups(backup_storage)
    assert sorted(listed, key=lambda b: b.table) == sorted(made, key=lambda b: b.table)
    employees = next(b for b in listed if b.table == "hired_employees")
    assert isinstance(employees, BackupInfo)
    assert employees.rows == len(contents(engine)["hired_employees"])
    assert employees.bytes == backup_storage.size(employees.data_name)
    with backup_storage.open(employees.data_name) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == employees.sha256


def test_a_backup_reads_the_table_in_chunks_ordered_by_id(archive: SqlDatabase) -> None:
    with archive.snapshot("hired_employees") as snapshot:
        assert isinstance(snapshot, TableSnapshot)
        chunks = list(snapshot.chunks(500))
    assert [len(c) for c in chunks[:3]] == [500, 500, 500]
    ids = [row[0] for chunk in chunks for row in chunk]
    assert ids == sorted(ids) and len(ids) == snapshot.row_count


def test_backups_kept_in_a_local_folder_or_in_azure_blob_restore_the_same_rows(
    archive: SqlDatabase, engine: Engine, blob_storage: BlobStorage
) -> None:
    original = contents(engine)
    made = backup_tables(archive, blob_storage, FORMAT)
    assert {b.name for b in blob_storage.list("backups/")} >= {f"backups/{b.table}/{b.id}.avro" for b in made}
    assert [b.id for b in list_backups(blob_storage, "jobs")] == [made[1].id]
    vandalise(engine)
    restore_tables(archive, blob_storage, FORMAT, list(TABLES))
    assert contents(engine) == original


def test_a_truncated_backup_in_azure_blob_is_refused_and_the_table_is_untouched(
    archive: SqlDatabase, engine: Engine, blob_storage: BlobStorage
) -> None:
    [made] = backup_tables(archive, blob_storage, FORMAT, ["jobs"])
    name = f"backups/jobs/{made.id}.avro"
    with blob_storage.open(name) as stream:
        data = stream.read()
    blob_storage.write(name, data[: len(data) // 2])
    vandalise(engine)
    before = contents(engine)
    with pytest.raises(InvalidBackup):
        restore_table(archive, blob_storage, FORMAT, "jobs")
    assert contents(engine) == before
