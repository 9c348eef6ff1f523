"""A backup that starts while a restore replaces its table reads the table of before or of after the restore,
never an empty one: on PostgreSQL a restore empties the table with TRUNCATE, which a snapshot taken before
it committed would see as empty."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from infra.db.engine import create_schema, make_engine
from infra.db.unit_of_work import SqlDatabase

BEFORE, AFTER = 300, 200
HIRED = datetime(2021, 1, 1, 9, 0, 0)


def employees(count: int, name: str) -> list[tuple[Any, ...]]:
    return [(i, f"{name} {i}", HIRED + timedelta(minutes=i), 1, 1) for i in range(1, count + 1)]


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        here = "datname = current_database()"
        query = text(f"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND {here}")
        return bool(conn.execute(query).scalar_one())


def test_a_backup_started_during_a_restore_reads_the_restored_rows_not_an_empty_table(engine: Engine) -> None:
    database = SqlDatabase(engine)
    with database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.rows.insert("hired_employees", employees(BEFORE, "Ana Silva"))
        tx.commit()
    read: list[tuple[int, int]] = []

    def back_up() -> None:
        with database.snapshot("hired_employees") as snapshot:
            read.append((snapshot.row_count, sum(len(chunk) for chunk in snapshot.chunks(100))))

    with database() as restore:
        restore.rows.lock(["hired_employees"], references_checked=True)
        restore.rows.drop_secondary_indexes("hired_employees")
        restore.rows.delete_all("hired_employees")
        restore.rows.insert("hired_employees", employees(AFTER, "Bruno Rossi"))
        restore.rows.build_secondary_indexes("hired_employees")
        backup = threading.Thread(target=back_up)
        backup.start()
        deadline = time.monotonic() + 30
        while not waiting_on_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        restore.commit()
    backup.join(timeout=30)

    assert read == [(AFTER, AFTER)]
