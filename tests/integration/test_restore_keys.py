"""A restore may drop a table's keys to load it (on PostgreSQL its foreign keys and primary key); once it has
committed, every key is back under its own name and refuses what it refused before."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from core.backup.back_up import backup_tables
from core.backup.restore import restore_tables
from core.unit_of_work import WriteConflict
from infra.db.schema import HIRING_TABLES
from infra.db.unit_of_work import SqlDatabase
from infra.storage.local import LocalFolderStorage
from tests.integration.test_backup_restore import FORMAT, engine  # noqa: F401 - the fixture

HIRED = datetime(2021, 11, 7, 2, 48, 42)


def keys(database: Engine) -> dict[str, Any]:
    inspector = inspect(database)
    return {
        table: (
            inspector.get_pk_constraint(table),
            sorted(
                (k["name"], k["constrained_columns"], k["referred_table"]) for k in inspector.get_foreign_keys(table)
            ),
        )
        for table in HIRING_TABLES
    }


@pytest.mark.parametrize("tables", [["hired_employees"], ["departments", "jobs", "hired_employees"]])
def test_after_a_restore_every_key_is_back_and_refuses_what_it_refused(
    engine: Engine,  # noqa: F811
    tmp_path: Path,
    tables: list[str],
) -> None:
    database = SqlDatabase(engine)
    with database() as tx:
        tx.rows.insert("departments", [(1, "Sales"), (2, "Legal")])
        tx.rows.insert("jobs", [(1, "Editor")])
        tx.rows.insert("hired_employees", [(i, f"Ana Silva {i}", HIRED, i % 2 + 1, 1) for i in range(1, 101)])
        tx.commit()
    storage = LocalFolderStorage(tmp_path)
    backup_tables(database, storage, FORMAT)
    before = keys(engine)

    restore_tables(database, storage, FORMAT, tables)

    assert keys(engine) == before
    with pytest.raises(WriteConflict), database() as tx:
        tx.rows.insert("hired_employees", [(100, "Bruno Rossi", HIRED, 1, 1)])
    with pytest.raises(WriteConflict), database() as tx:
        tx.rows.insert("hired_employees", [(101, "Bruno Rossi", HIRED, 3, 1)])
    with pytest.raises(WriteConflict), database() as tx:
        tx.rows.insert("departments", [(2, "Legal")])
