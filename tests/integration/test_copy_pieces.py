"""PostgreSQL's COPY (infra/db/postgres.py): a batch goes in two halves (``copy_pieces``), and every row of a batch of
any size around the boundaries is stored once, with its values; rows in the stored form carry their timestamps as
integers and read back as the same datetimes."""

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


def test_rows_in_the_stored_form_read_back_with_their_datetimes_before_and_after_2000(postgres_url: str) -> None:
    """The stored form sends a timestamp as the microseconds since 2000-01-01 that the binary COPY carries."""
    engine = make_engine(postgres_url)
    create_schema(engine)
    moments = [datetime(1900, 1, 1), datetime(1999, 12, 31, 23, 59, 59), datetime(2000, 1, 1), datetime(2100, 12, 31)]
    employees = [(i, f"Person {i}", moment, 1, 1) for i, moment in enumerate(moments, 1)]
    with engine.connect() as conn:
        conn.exec_driver_sql("INSERT INTO departments (id, department) VALUES (1, 'Sales')")
        conn.exec_driver_sql("INSERT INTO jobs (id, job) VALUES (1, 'Editor')")
        inserter = bulk_inserter(conn.dialect, "hired_employees")
        form = inserter.storage_form()
        assert form.encode is not None and form.decode is not None
        encoded = [form.encode(row) for row in employees]
        assert all(type(row[2]) is int for row in encoded)
        inserter.insert(conn, encoded, encoded=True)
        conn.commit()
        stored = conn.execute(select(hired_employees).order_by(hired_employees.c.id)).all()
    engine.dispose()
    assert [tuple(row) for row in stored] == employees
    assert [form.decode(row) for row in encoded] == employees
