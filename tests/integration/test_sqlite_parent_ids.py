"""SQLite, a bulk load's batches: the departments and jobs a batch found are taken as found by the connection's next
batch only while nothing could have removed them: no other connection committed, nothing was written on this one,
no table was redefined. Each case below removes department 3 between two batches and the second batch must not
see it; with nothing in between, the second batch sends no query at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event

from infra.db.hiring_rows import SqlHiringRows

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def batch(conn: Connection, wanted: set[int]) -> set[int]:
    """One bulk batch on ``conn`` that looks departments up, as the loader's unit of work runs it."""
    rows = SqlHiringRows(conn)
    assert rows.references_checked_here()
    found = rows.existing_ids("departments", wanted)
    rows.before_commit()
    conn.commit()
    rows.clean_up()
    conn.commit()
    return found


def lookups(services: Any) -> list[str]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "json_each" in statement:
            sent.append(statement)

    event.listen(services.engine, "before_cursor_execute", count)
    return sent


def remove_by_another_connection(services: Any, _conn: Connection) -> None:
    with services.engine.connect() as other:
        other.exec_driver_sql("DELETE FROM departments WHERE id = 3")
        other.commit()


def remove_on_this_connection(_services: Any, conn: Connection) -> None:
    conn.exec_driver_sql("DELETE FROM departments WHERE id = 3")
    conn.commit()


def redefine_without_a_row_change(_services: Any, conn: Connection) -> None:
    # No INSERT, UPDATE or DELETE: the connection's count of changed rows stays as it was.
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.exec_driver_sql("ALTER TABLE departments RENAME TO departments_before")
    conn.exec_driver_sql("CREATE TABLE departments AS SELECT * FROM departments_before WHERE id <> 3")
    conn.commit()


@pytest.mark.parametrize(
    "remove", [remove_by_another_connection, remove_on_this_connection, redefine_without_a_row_change]
)
def test_a_batch_does_not_take_a_parent_removed_since_the_last_one(
    services: Any, remove: Callable[[Any, Connection], None]
) -> None:
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales"), (2, "Legal"), (3, "Support")])
        tx.commit()
    sent = lookups(services)
    with services.engine.connect() as conn:
        assert batch(conn, {1, 2, 3}) == {1, 2, 3}
        assert batch(conn, {1, 2, 3}) == {1, 2, 3}
        assert len(sent) == 1  # nothing changed: the second batch took what the first found
        remove(services, conn)
        assert batch(conn, {1, 2, 3}) == {1, 2}
        assert len(sent) == 2
