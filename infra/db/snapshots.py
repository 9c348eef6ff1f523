"""Consistent reads of whole tables, for backups: a count and the rows by id, from one state of the table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Select, Table, func, literal_column, select

from core.backup.ports import TableSnapshot
from infra.db.engine import connect
from infra.db.schema import HIRING_TABLES


def read_lock_statement(table: Table) -> str:
    """PostgreSQL: wait for a writer that holds the whole table (a restore) to end; writers of rows do not wait."""
    return f"LOCK TABLE {table.name} IN ACCESS SHARE MODE"


def count_statement(table: Table) -> Select[Any]:
    return select(func.count()).select_from(table)


def rows_by_id_statement(table: Table) -> Select[Any]:
    return select(table).order_by(table.c.id)


# A timestamp as Avro's timestamp-micros wants it, computed by the database: the columns hold UTC.
# On SQLite the text '2021-11-07 02:48:42.250000' is read as whole seconds plus six digits of fraction
# (padded, so a shorter fraction or none reads right); unixepoch() (SQLite 3.38) reads the seconds a
# quarter faster than strftime('%s'). PostgreSQL 14 and later extract the epoch exactly.
_SQLITE_SECONDS = "unixepoch({c})" if sqlite3.sqlite_version_info >= (3, 38) else "CAST(strftime('%s', {c}) AS INTEGER)"
_MICROS_SQL = {
    "sqlite": _SQLITE_SECONDS.format(c="substr({c}, 1, 19)") + " * 1000000"
    " + CAST(substr({c} || '000000', 21, 6) AS INTEGER)",
    "postgresql": "CAST(extract(epoch FROM {c}) * 1000000 AS BIGINT)",
}


def backup_rows_statement(table: Table, dialect: str) -> Select[Any]:
    """The rows by id, each timestamp as microseconds since 1970 where the database can say it; else a datetime."""
    template = _MICROS_SQL.get(dialect)
    columns = [
        literal_column(template.format(c=c.name)).label(c.name) if template and isinstance(c.type, DateTime) else c
        for c in table.columns
    ]
    return select(*columns).order_by(table.c.id)


class SqlTableSnapshot(TableSnapshot):
    def __init__(self, conn: Connection, table: Table) -> None:
        self._conn = conn
        self._table = table
        self._count = int(conn.execute(count_statement(table)).scalar_one())

    @property
    def row_count(self) -> int:
        return self._count

    def chunks(self, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
        """Straight from the driver's cursor: the rows are the driver's tuples, with nothing converted on the way."""
        dialect = self._conn.dialect
        if dialect.name not in _MICROS_SQL:
            result = self._conn.execution_options(yield_per=size).execute(rows_by_id_statement(self._table))
            for partition in result.partitions():
                yield [tuple(row) for row in partition]
            return
        sql = str(backup_rows_statement(self._table, dialect.name).compile(dialect=dialect))
        driver = self._conn.connection.driver_connection
        if driver is None:
            raise RuntimeError("the database connection has no driver connection")
        # psycopg keeps a whole result in memory unless the cursor is named (a server-side cursor).
        cursor = driver.cursor(name="hireflow_backup") if dialect.name == "postgresql" else driver.cursor()
        try:
            cursor.execute(sql)
            while chunk := cursor.fetchmany(size):
                yield chunk
        finally:
            cursor.close()


@contextmanager
def table_snapshot(engine: Engine, table: str) -> Iterator[TableSnapshot]:
    """A read of ``table`` that does not see writes made after it started, on a connection of its own."""
    with connect(engine) as conn:
        dialect = engine.dialect.name
        if dialect == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            # Before the snapshot: a restore that empties the table with TRUNCATE would otherwise show an older
            # snapshot no row at all once it commits; a LOCK takes no snapshot, so the first read comes after it.
            conn.exec_driver_sql(read_lock_statement(HIRING_TABLES[table]))
        elif dialect == "sqlite":
            # pysqlite does not open a transaction for reads; without one, the count
            # and the rows could come from two different states of the table.
            conn.exec_driver_sql("BEGIN")
        try:
            yield SqlTableSnapshot(conn, HIRING_TABLES[table])
        finally:
            conn.rollback()
