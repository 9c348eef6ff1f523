"""Consistent reads of whole tables, for backups: a count and the rows by id, from one state of the table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, func, select

from core.backup.ports import TableSnapshot
from infra.db.engine import connect
from infra.db.schema import HIRING_TABLES


def count_statement(table: Table) -> Select[Any]:
    return select(func.count()).select_from(table)


def rows_by_id_statement(table: Table) -> Select[Any]:
    return select(table).order_by(table.c.id)


class SqlTableSnapshot(TableSnapshot):
    def __init__(self, conn: Connection, table: Table) -> None:
        self._conn = conn
        self._table = table
        self._count = int(conn.execute(count_statement(table)).scalar_one())

    @property
    def row_count(self) -> int:
        return self._count

    def chunks(self, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
        result = self._conn.execution_options(yield_per=size).execute(rows_by_id_statement(self._table))
        for partition in result.partitions():
            yield [tuple(row) for row in partition]


@contextmanager
def table_snapshot(engine: Engine, table: str) -> Iterator[TableSnapshot]:
    """A read of ``table`` that does not see writes made after it started, on a connection of its own."""
    with connect(engine) as conn:
        dialect = engine.dialect.name
        if dialect == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif dialect == "sqlite":
            # pysqlite does not open a transaction for reads; without one, the count
            # and the rows could come from two different states of the table.
            conn.exec_driver_sql("BEGIN")
        try:
            yield SqlTableSnapshot(conn, HIRING_TABLES[table])
        finally:
            conn.rollback()
