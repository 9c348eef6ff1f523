"""``SqlRowQueries``: rows of the hiring tables read back in id order, as SQLAlchemy Core statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, select

from core.rows.ports import RowFilter, RowQueries
from infra.db.engine import connect
from infra.db.schema import HIRING_TABLES


def page_statement(table: str, filters: RowFilter, after_id: int, limit: int) -> Select[Any]:
    """Keyset pagination on the primary key: the database starts at ``after_id`` instead of counting past rows."""
    t = HIRING_TABLES[table]
    c = t.c
    conditions: list[ColumnElement[bool]] = [c.id > after_id]
    if filters.min_id is not None:
        conditions.append(c.id >= filters.min_id)
    if filters.max_id is not None:
        conditions.append(c.id <= filters.max_id)
    if filters.department_id is not None:
        conditions.append(c.department_id == filters.department_id)
    if filters.job_id is not None:
        conditions.append(c.job_id == filters.job_id)
    if filters.hired_from is not None:
        conditions.append(c.datetime >= filters.hired_from)
    if filters.hired_before is not None:
        conditions.append(c.datetime < filters.hired_before)
    return select(*t.columns).where(*conditions).order_by(c.id).limit(limit)


def row_statement(table: str, row_id: int) -> Select[Any]:
    t = HIRING_TABLES[table]
    return select(*t.columns).where(t.c.id == row_id)


class SqlRowQueries(RowQueries):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(self, table: str, filters: RowFilter, after_id: int, limit: int) -> list[tuple[Any, ...]]:
        with connect(self.engine) as conn:
            return [tuple(row) for row in conn.execute(page_statement(table, filters, after_id, limit))]

    def one(self, table: str, row_id: int) -> tuple[Any, ...] | None:
        with connect(self.engine) as conn:
            row = conn.execute(row_statement(table, row_id)).first()
        return None if row is None else tuple(row)
