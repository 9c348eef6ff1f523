"""PostgreSQL: a COPY of a batch goes in two halves (infra/db/postgres.py, ``copy_pieces``); every row of a batch of
any size around the boundaries is stored once, with its values, in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from infra.db.engine import create_schema, make_engine
from infra.db.hiring_rows import bulk_inserter
from infra.db.postgres import BUFFERED_ROWS, SPLIT_FROM, copy_pieces
from infra.db.schema import hired_employees

SIZES = [1, SPLIT_FROM - 1, SPLIT_FROM, SPLIT_FROM + 1, BUFFERED_ROWS - 1, BUFFERED_ROWS, BUFFERED_ROWS + 1, 2500]


def test_the_pieces_of_a_copy_hold_every_row_once_in_order() -> None:
    for rows in range(0, 3 * BUFFERED_ROWS):
        pieces = copy_pieces(rows)
        taken = [i for piece in pieces for i in range(rows)[piece]]
        assert taken == list(range(rows)), rows
        assert len(pieces) == (2 if SPLIT_FROM <= rows <= BUFFERED_ROWS else 1), rows


@pytest.mark.parametrize("rows", SIZES)
def test_a_copy_of_any_size_stores_every_row_once(postgres_url: str, rows: int) -> None:
    engine = make_engine(postgres_url)
    create_schema(engine)
    start = datetime(2021, 1, 1)
    employees = [(i, f"Person {i}", start + timedelta(minutes=i), 1, 1) for i in range(1, rows + 1)]
    with engine.connect() as conn:
        conn.exec_driver_sql("INSERT INTO departments (id, department) VALUES (1, 'Sales')")
        conn.exec_driver_sql("INSERT INTO jobs (id, job) VALUES (1, 'Editor')")
        bulk_inserter(conn.dialect, "hired_employees").insert(conn, employees)
        conn.commit()
        stored = conn.execute(select(hired_employees).order_by(hired_employees.c.id)).all()
    engine.dispose()
    assert [tuple(row) for row in stored] == employees
