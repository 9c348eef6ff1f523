"""Staging tables for restores: a temporary table with a hiring table's columns, on the unit of work's connection.

A restore streams a backup into it in bulk, checks ids and references with set-based queries against
it, then moves its rows into the table inside the database (``move_staged``), in the restore's one
transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Select, Table, delete, exists, func, insert, select, update
from sqlalchemy.schema import DropTable

from core.unit_of_work import Missing, StagedRows
from infra.db.schema import HIRING_TABLES


@functools.cache
def staging_table(name: str) -> Table:
    """The temporary table that stages rows of hiring table ``name``: its columns, no key, no index."""
    table = HIRING_TABLES[name]
    columns = [Column(c.name, c.type, nullable=False) for c in table.columns]
    return Table(f"staged_{name}", MetaData(), *columns, prefixes=["TEMPORARY"])


class SqlStagedRows(StagedRows):
    def __init__(self, conn: Connection, table: str, insert_rows: Callable[[Sequence[tuple[Any, ...]]], None]) -> None:
        self.table = table
        self.staging = staging_table(table)
        self._conn = conn
        self._insert_rows = insert_rows
        conn.execute(DropTable(self.staging, if_exists=True))
        self.staging.create(conn)

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert_rows(rows)

    def repeated_id(self) -> int | None:
        ids = self.staging.c.id
        query = select(ids).group_by(ids).having(func.count() > 1).order_by(ids).limit(1)
        return self._conn.execute(query).scalar()

    def missing(self, column: str, parent: StagedRows | None, limit: int) -> Missing:
        values = self.staging.c[column]
        if parent is None:
            [key] = HIRING_TABLES[self.table].c[column].foreign_keys
            target = key.column.table
        else:
            target = staged_of(parent).staging
        return missing_values(self._conn, select(values).where(values.not_in(select(target.c.id))), limit)

    def drop(self) -> None:
        self._conn.execute(DropTable(self.staging, if_exists=True))


def missing_values(conn: Connection, values: Select[Any], limit: int) -> Missing:
    """The smallest ``limit`` distinct values of the one-column query ``values``, and how many there are."""
    distinct = values.distinct()
    first = list(conn.execute(distinct.order_by(*distinct.selected_columns).limit(limit)).scalars())
    if len(first) < limit:
        return Missing(first, len(first))
    return Missing(first, int(conn.execute(select(func.count()).select_from(distinct.subquery())).scalar_one()))


def orphans(conn: Connection, table: str, column: str, parent: StagedRows, limit: int) -> Missing:
    """The values of ``table``'s reference ``column`` that are not among the staged ids of ``parent``."""
    parent = staged_of(parent)
    values = HIRING_TABLES[table].c[column]
    return missing_values(conn, select(values).where(values.not_in(select(parent.staging.c.id))), limit)


def move_staged(conn: Connection, staged: SqlStagedRows) -> None:
    """Insert the staged rows into their table with one INSERT ... SELECT."""
    table = HIRING_TABLES[staged.table]
    names = [c.name for c in table.columns]
    conn.execute(insert(table).from_select(names, select(*(staged.staging.c[n] for n in names))))


def merge_staged(conn: Connection, staged: SqlStagedRows) -> None:
    """Make the table hold exactly the staged rows, updating in place the rows whose ids are staged."""
    table, staging = HIRING_TABLES[staged.table], staged.staging
    names = [c.name for c in table.columns]
    conn.execute(delete(table).where(~exists().where(staging.c.id == table.c.id)))
    changes = {n: staging.c[n] for n in names if n != "id"}
    conn.execute(update(table).where(table.c.id == staging.c.id).values(changes))
    new = select(*(staging.c[n] for n in names)).where(~exists().where(table.c.id == staging.c.id))
    conn.execute(insert(table).from_select(names, new))


def staged_of(rows: StagedRows, table: str | None = None) -> SqlStagedRows:
    """``rows`` as this adapter's staged rows (of ``table``, when given): never another adapter's."""
    if not isinstance(rows, SqlStagedRows) or (table is not None and rows.table != table):
        raise TypeError(f"staged rows of another kind or table: {rows!r}")
    return rows
