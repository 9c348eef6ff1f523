"""A restore that fails half-way, after it deleted rows and dropped indexes, leaves every table, every row
and every index as it was; the connection it used goes back to the pool as it found it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest
from sqlalchemy import Engine, inspect, update

from core.backup.back_up import backup_tables
from core.backup.restore import restore_tables
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWork, WriteConflict
from domain.entities import TABLES
from domain.errors import InvalidBackup
from infra.db.engine import create_schema, make_engine
from infra.db.schema import HIRING_TABLES
from infra.db.unit_of_work import SqlDatabase
from infra.storage.local import LocalFolderStorage
from tests.integration.test_backup_restore import FORMAT, contents, forge

EMPLOYEES = 3000
FIRST_HIRE = datetime(2021, 1, 1, 9, 0, 0, 250000)


class DiskFull(Exception):
    pass


def employee(row_id: int) -> tuple[Any, ...]:
    return (row_id, f"Ana Silva {row_id}", FIRST_HIRE + timedelta(minutes=row_id), row_id % 12 + 1, row_id % 183 + 1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def archive(engine: Engine) -> SqlDatabase:
    database = SqlDatabase(engine)
    with database() as tx:
        tx.rows.insert("departments", [(i, f"Team {i}") for i in range(1, 13)])
        tx.rows.insert("jobs", [(i, f"Job {i}") for i in range(1, 184)])
        tx.rows.insert("hired_employees", [employee(i) for i in range(1, EMPLOYEES + 1)])
        tx.commit()
    return database


@pytest.fixture
def backup_storage(tmp_path: Path) -> BlobStorage:
    return LocalFolderStorage(tmp_path / "storage")


def schema(engine: Engine) -> dict[str, Any]:
    """Every index, key and foreign key of the hiring tables, as the database reports them."""
    inspector = inspect(engine)
    foreign_keys = inspector.get_foreign_keys
    return {
        table: {
            "indexes": sorted(inspector.get_indexes(table), key=lambda index: str(index["name"])),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted((k["constrained_columns"], k["referred_table"]) for k in foreign_keys(table)),
        }
        for table in HIRING_TABLES
    }


def change_every_employee(engine: Engine) -> None:
    employees = HIRING_TABLES["hired_employees"]
    with engine.begin() as conn:
        conn.execute(update(employees).values(name="Changed since the backup"))


class FailingAfter:
    """The real database, except that one step of replacing ``hired_employees`` fails just after it has run."""

    def __init__(self, database: SqlDatabase, step: str) -> None:
        self.database = database
        self.step = step

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        with self.database() as tx:
            real = getattr(tx.rows, self.step)

            def step_then_fail(table: str, *args: Any) -> None:
                real(table, *args)
                if table == "hired_employees":
                    raise DiskFull(f"the disk filled up just after {self.step}")

            setattr(tx.rows, self.step, step_then_fail)
            yield tx


@pytest.mark.parametrize("step", ["drop_secondary_indexes", "delete_all", "insert", "build_secondary_indexes"])
def test_a_restore_failing_half_way_leaves_the_rows_and_the_indexes_as_they_were(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage, step: str
) -> None:
    backup_tables(archive, backup_storage, FORMAT)
    backed_up = contents(engine)
    change_every_employee(engine)
    rows_before, schema_before = contents(engine), schema(engine)
    assert len(schema_before["hired_employees"]["indexes"]) == 3

    with pytest.raises(DiskFull):
        restore_tables(FailingAfter(archive, step), backup_storage, FORMAT, list(TABLES))

    assert contents(engine) == rows_before
    assert schema(engine) == schema_before
    restore_tables(archive, backup_storage, FORMAT, list(TABLES))
    assert contents(engine) == backed_up
    assert schema(engine) == schema_before


def test_a_bad_row_at_the_end_of_a_large_file_leaves_the_rows_and_the_indexes_as_they_were(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    rows = [employee(i) for i in range(1, EMPLOYEES + 1)] + [(EMPLOYEES + 1, "   ", FIRST_HIRE, 1, 1)]
    backup_id = forge(backup_storage, "hired_employees", rows)
    change_every_employee(engine)
    rows_before, schema_before = contents(engine), schema(engine)

    with pytest.raises(InvalidBackup, match=f"row {EMPLOYEES + 1} of hired_employees backup"):
        restore_tables(archive, backup_storage, FORMAT, {"hired_employees": backup_id})

    assert contents(engine) == rows_before
    assert schema(engine) == schema_before


def test_a_file_out_of_id_order_with_a_repeated_id_far_apart_is_refused(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    rows = [employee(i) for i in range(EMPLOYEES, 0, -1)] + [employee(EMPLOYEES)]
    backup_id = forge(backup_storage, "hired_employees", rows)
    rows_before = contents(engine)
    with pytest.raises(InvalidBackup, match=f"holds id {EMPLOYEES} twice"):
        restore_tables(archive, backup_storage, FORMAT, {"hired_employees": backup_id})
    assert contents(engine) == rows_before


def test_a_file_out_of_id_order_restores_every_row(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    rows = [employee(i) for i in range(EMPLOYEES, 0, -1)]
    backup_id = forge(backup_storage, "hired_employees", rows)
    change_every_employee(engine)
    restore_tables(archive, backup_storage, FORMAT, {"hired_employees": backup_id})
    assert contents(engine)["hired_employees"] == sorted(rows)


def test_after_a_failed_restore_its_connection_still_checks_foreign_keys(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    backup_tables(archive, backup_storage, FORMAT)
    with pytest.raises(DiskFull):
        restore_tables(FailingAfter(archive, "insert"), backup_storage, FORMAT, list(TABLES))
    for _ in range(3):  # whichever pooled connection the restore had
        with pytest.raises(WriteConflict), archive() as tx:
            tx.rows.insert("hired_employees", [(EMPLOYEES + 1, "Bruno Rossi", FIRST_HIRE, 99, 1)])


def test_a_restore_leaves_the_planner_statistics_of_the_indexes_it_built(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps its column statistics through a restore; SQLite forgets a dropped index's")
    backup_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    restore_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    with engine.connect() as conn:
        analysed = {
            row[0] for row in conn.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'hired_employees'")
        }
    assert {str(index["name"]) for index in schema(engine)["hired_employees"]["indexes"]} <= analysed


def test_a_backup_keeps_every_microsecond_from_1900_to_2100(
    archive: SqlDatabase, engine: Engine, backup_storage: BlobStorage
) -> None:
    moments = [
        datetime(1900, 1, 1),
        datetime(1969, 12, 31, 23, 59, 59, 999999),
        datetime(1970, 1, 1, 0, 0, 0, 1),
        datetime(2021, 11, 7, 2, 48, 42),
        datetime(2100, 12, 31, 23, 59, 59, 999999),
    ]
    with archive() as tx:
        tx.rows.delete_all("hired_employees")
        tx.rows.insert("hired_employees", [(i, "Ana Silva", moment, 1, 1) for i, moment in enumerate(moments, 1)])
        tx.commit()
    [info] = backup_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    with backup_storage.open(info.data_name) as stream:
        written = [record["datetime"] for record in fastavro.reader(stream)]
    assert written == [moment.replace(tzinfo=UTC) for moment in moments]
    change_every_employee(engine)
    restore_tables(archive, backup_storage, FORMAT, ["hired_employees"])
    assert [row[2] for row in contents(engine)["hired_employees"]] == moments
