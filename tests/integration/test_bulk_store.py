"""The batch lookups of the bulk writer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from infra.db.engine import create_schema, make_engine
from infra.db.hiring_rows import DENSE_SPAN
from infra.db.schema import hired_employees
from infra.db.unit_of_work import SqlDatabase


def test_stored_rows_are_found_by_id_whether_the_batch_ids_are_close_together_or_far_apart(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    store = SqlDatabase(engine)
    moment = datetime(2021, 1, 1)
    stored = [(i, f"Department {i}") for i in [*range(1, 21), 5000]]
    with store() as uow:
        uow.rows.insert("departments", stored)
        uow.rows.insert("jobs", [(1, "Engineer")])
        uow.rows.insert("hired_employees", [(7, "Ana", moment, 1, 1), (8, "Bo", moment + timedelta(seconds=1), 1, 1)])
        uow.commit()
    close = [3, 4, 21, 5, 22]
    far = [2, 5000, 10**6]
    assert max(close) - min(close) < DENSE_SPAN * len(close) <= max(far) - min(far)
    with store() as uow:
        tx = uow.rows
        assert tx.existing("departments", close) == {
            3: (3, "Department 3"),
            4: (4, "Department 4"),
            5: (5, "Department 5"),
        }
        assert tx.existing("departments", far) == {2: (2, "Department 2"), 5000: (5000, "Department 5000")}
        assert tx.existing("departments", [21]) == {}
        assert tx.existing("departments", []) == {}
        assert tx.existing("hired_employees", [8, 9]) == {8: (8, "Bo", moment + timedelta(seconds=1), 1, 1)}
    with engine.connect() as conn:
        assert conn.execute(select(hired_employees.c.datetime).where(hired_employees.c.id == 7)).scalar_one() == moment
    engine.dispose()
