"""``SqlTableArchive``: consistent whole-table reads and atomic table replacement, in SQLAlchemy Core.

Every statement is built by a function below so that a test can compile each one
for SQL Server as well as for SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Delete, Engine, Select, Table, Update, bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError

from core.backup.ports import TableArchive, TableReplacement, TableSnapshot
from core.ports import WriteConflict
from infra.db.engine import connect, first_line
from infra.db.schema import HIRING_TABLES
from infra.db.store import bulk_inserter, is_write_conflict

DELETE_CHUNK = 1000


def count_statement(table: Table) -> Select[Any]:
    return select(func.count()).select_from(table)


def rows_by_id_statement(table: Table) -> Select[Any]:
    return select(table).order_by(table.c.id)


def ids_statement(table: Table) -> Select[Any]:
    return select(table.c.id)


def referenced_ids_statement(table: Table, column: str) -> Select[Any]:
    return select(table.c[column]).distinct()


def delete_all_statement(table: Table) -> Delete:
    return delete(table)


def delete_ids_statement(table: Table) -> Delete:
    return delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


def update_by_id_statement(table: Table) -> Update:
    values = {c.name: bindparam(f"new_{c.name}") for c in table.columns if c.name != "id"}
    return update(table).where(table.c.id == bindparam("old_id")).values(values)


def lock_statement(table: Table) -> str:
    """PostgreSQL: writers of ``table`` wait until the transaction ends; readers (reports, backups) do not."""
    return f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"


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


class SqlTableReplacement(TableReplacement):
    def __init__(self, archive: SqlTableArchive, conn: Connection) -> None:
        self._archive = archive
        self._conn = conn
        self.committed = False

    def ids(self, table: str) -> set[int]:
        return set(self._conn.execute(ids_statement(HIRING_TABLES[table])).scalars())

    def referenced_ids(self, table: str, column: str) -> set[int]:
        return set(self._conn.execute(referenced_ids_statement(HIRING_TABLES[table], column)).scalars())

    def delete_all(self, table: str) -> None:
        with _conflicts():
            self._conn.execute(delete_all_statement(HIRING_TABLES[table]))

    def delete(self, table: str, ids: Collection[int]) -> None:
        ordered = sorted(ids)
        statement = delete_ids_statement(HIRING_TABLES[table])
        with _conflicts():
            for start in range(0, len(ordered), DELETE_CHUNK):
                self._conn.execute(statement, {"ids": ordered[start : start + DELETE_CHUNK]})

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with _conflicts():
            bulk_inserter(self._conn.dialect, table).insert(self._conn, rows)

    def update(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        t = HIRING_TABLES[table]
        names = [c.name for c in t.columns]
        params = [
            {"old_id": row[0], **{f"new_{n}": v for n, v in zip(names, row, strict=True) if n != "id"}} for row in rows
        ]
        with _conflicts():
            self._conn.execute(update_by_id_statement(t), params)

    def commit(self) -> None:
        self._conn.commit()
        self.committed = True


@contextmanager
def _conflicts() -> Iterator[None]:
    try:
        yield
    except DBAPIError as error:
        if is_write_conflict(error):
            raise WriteConflict(first_line(error)) from error
        raise


class SqlTableArchive(TableArchive):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def replacement_blocks_other_writes(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def snapshot(self, table: str) -> Iterator[TableSnapshot]:
        t = HIRING_TABLES[table]
        with connect(self.engine) as conn:
            dialect = self.engine.dialect.name
            if dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            elif dialect == "sqlite":
                # pysqlite does not open a transaction for reads; without one, the count
                # and the rows could come from two different states of the table.
                conn.exec_driver_sql("BEGIN")
            try:
                yield SqlTableSnapshot(conn, t)
            finally:
                conn.rollback()

    @contextmanager
    def replacement(self, tables: Sequence[str]) -> Iterator[TableReplacement]:
        with connect(self.engine) as conn:
            # Take the write locks before the checks, so no writer slips in between.
            dialect = self.engine.dialect.name
            if dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif dialect == "postgresql":
                # Children first, as a batch locks its own table and then, for its foreign keys, the parents:
                # in the other order a restore and a batch of employees could each wait for the other.
                for table in sorted(tables, key=list(HIRING_TABLES).index, reverse=True):
                    conn.exec_driver_sql(lock_statement(HIRING_TABLES[table]))
            tx = SqlTableReplacement(self, conn)
            try:
                yield tx
            finally:
                if not tx.committed:
                    conn.rollback()
