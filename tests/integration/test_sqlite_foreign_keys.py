"""SQLite: the foreign keys a unit of work turns off for its own statements (a bulk batch, a restore) stay off on its
connection for the next unit of work that wants them off, the load's next batch, and are on again before any other
statement runs there, whoever sends it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError

from core.unit_of_work import WriteConflict
from infra.db.engine import make_engine
from infra.db.unit_of_work import SqlDatabase

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
WHEN = datetime(2021, 1, 1)


@pytest.fixture
def one_connection(services: Any, database_url: str) -> Iterator[Engine]:
    """The service's database (its schema made by the service) through a pool of one connection: every unit of
    work and every statement below runs on the same SQLite connection."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    with SqlDatabase(engine)() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Analyst")])
        tx.commit()
    yield engine
    engine.dispose()


def pragmas_sent(engine: Engine) -> list[str]:
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("PRAGMA foreign_keys="):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return sent


def bulk_batch(engine: Engine, first_id: int) -> None:
    """One unit of work as a bulk load's batch runs it on SQLite, the database's own reference checks off."""
    with SqlDatabase(engine)() as tx:
        assert tx.rows.references_checked_here()
        tx.rows.insert("hired_employees", [(first_id, "Ana", WHEN, 1, 1)])
        tx.rows.before_commit()
        tx.commit()


def test_a_load_turns_foreign_keys_off_once_and_they_are_on_for_whatever_comes_next(one_connection: Engine) -> None:
    sent = pragmas_sent(one_connection)
    bulk_batch(one_connection, 1)
    bulk_batch(one_connection, 2)
    bulk_batch(one_connection, 3)
    assert sent == ["PRAGMA foreign_keys=OFF"]  # the next batches found them off on their connection

    # Anything else on that connection runs with them on: a plain statement, a unit of work of any other kind.
    with one_connection.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    bulk_batch(one_connection, 4)
    with SqlDatabase(one_connection)() as tx, pytest.raises(WriteConflict, match="FOREIGN KEY"):
        tx.rows.insert("hired_employees", [(5, "Bo", WHEN, 99, 1)])  # department 99: none
    bulk_batch(one_connection, 6)
    with one_connection.connect() as conn, pytest.raises(IntegrityError):
        conn.exec_driver_sql("DELETE FROM departments WHERE id = 1")  # employees refer to it
    assert sent == ["PRAGMA foreign_keys=OFF"] * 3


def test_a_batch_that_fails_leaves_them_on_for_the_next_user_too(one_connection: Engine) -> None:
    with pytest.raises(RuntimeError), SqlDatabase(one_connection)() as tx:
        assert tx.rows.references_checked_here()
        raise RuntimeError("the batch stops half-way")
    with one_connection.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
