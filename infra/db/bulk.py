"""Bulk mode DDL: a table's secondary indexes (and, on PostgreSQL, its foreign keys) dropped before a large
write and built again after it, then the table's statistics refreshed.

Used by a bulk load (``SqlHiringRows.drop_secondary`` / ``build_secondary``) and at every process start
(``build_missing_secondary``), and meant for restore too. Each function runs on the connection it is given,
inside its transaction: SQLite and PostgreSQL have transactional DDL, so a drop commits together with the
checkpoint that says what is pending, and a build together with the checkpoint that says nothing is.

Everything is idempotent: dropping what is already gone, or building what is already there, does nothing.
The primary key always stays, so duplicates are refused during a bulk load; references are checked by the
loader before it writes, so dropping PostgreSQL's foreign keys for the load lets no bad row in, and they
come back as ``NOT VALID`` then ``VALIDATE CONSTRAINT`` (which scans without blocking readers or writers).
SQLite cannot drop a foreign key without rebuilding its table, so there they stay.

Every statement is built by a function below, so a test can compile it for SQL Server as well.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Column, Connection, Engine, ForeignKeyConstraint, Index, MetaData, Table, inspect, text
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex, ExecutableDDLElement

from infra.db import schema
from infra.db.schema import HIRING_TABLES

# The databases that take ``IF [NOT] EXISTS`` on indexes; elsewhere the index list is read first.
_IF_EXISTS = frozenset({"sqlite", "postgresql"})
# Where a foreign key can be dropped and added again without rebuilding its table.
_DROPS_FOREIGN_KEYS = frozenset({"postgresql", "mssql"})


def secondary_indexes(table: str) -> list[Index]:
    """The table's indexes besides its primary key, as ``infra/db/schema.py`` declares them."""
    return schema.secondary_indexes(HIRING_TABLES[table])


@functools.cache
def foreign_keys(table: str) -> list[ForeignKeyConstraint]:
    """The table's foreign keys, named as PostgreSQL names an unnamed one (``<table>_<column>_fkey``)."""
    keys = []
    for constraint in HIRING_TABLES[table].foreign_key_constraints:
        columns = tuple(c.name for c in constraint.columns)
        keys.append(_foreign_key(table, columns, f"{table}_{'_'.join(columns)}_fkey"))
    return sorted(keys, key=lambda key: str(key.name))


def _foreign_key(table: str, columns: tuple[str, ...], name: str) -> ForeignKeyConstraint:
    """The schema's foreign key on ``columns`` under ``name``, on a copy of the table, so the schema's own
    constraints keep the names the migrations gave them."""
    source = HIRING_TABLES[table]
    (constraint,) = (c for c in source.foreign_key_constraints if tuple(col.name for col in c.columns) == columns)
    copy = Table(table, MetaData(), *(Column(column.name, column.type) for column in source.columns))
    key = ForeignKeyConstraint(
        list(columns),
        [element.column for element in constraint.elements],
        name=name,
        postgresql_not_valid=True,
    )
    copy.append_constraint(key)
    return key


def drop_index_statement(index: Index, dialect_name: str) -> ExecutableDDLElement:
    return DropIndex(index, if_exists=dialect_name in _IF_EXISTS)


def create_index_statement(index: Index, dialect_name: str) -> ExecutableDDLElement:
    return CreateIndex(index, if_not_exists=dialect_name in _IF_EXISTS)


def drop_foreign_key_statement(key: ForeignKeyConstraint) -> ExecutableDDLElement:
    return DropConstraint(key, if_exists=True)


def add_foreign_key_statement(key: ForeignKeyConstraint) -> ExecutableDDLElement:
    """On PostgreSQL ``NOT VALID``: added at once, checked by ``validate_foreign_key_statement``."""
    return AddConstraint(key)


def validate_foreign_key_statement(key: ForeignKeyConstraint) -> Any:
    return text(f"ALTER TABLE {key.table.name} VALIDATE CONSTRAINT {key.name}")


def analyze_statement(table: str, dialect_name: str) -> Any:
    """Fresh statistics, so the planner uses the indexes just built (the reports need them at once).

    ``ANALYZE`` of the one table: on SQLite ``PRAGMA optimize`` alone gathers nothing for an index built since
    the last one, and the whole database's would rescan every other table after each load. SQLite samples
    (``analyze``, below): since the quarterly report counts each quarter on its own, both reports plan and
    run alike on sampled and full statistics (1 000 000 hires: 80–130 ms and 55–85 ms either way), and the
    sample takes 1–4 ms where the full scan took 250–280 ms.
    """
    if dialect_name == "mssql":
        return text(f"UPDATE STATISTICS {table}")
    return text(f"ANALYZE {table}")


def drop_secondary(conn: Connection, table: str) -> list[str]:
    """Drop the table's secondary indexes, and where the database allows it its foreign keys; return their names."""
    dialect = conn.dialect.name
    _in_transaction(conn)
    present = _present_indexes(conn, table)
    dropped = []
    if dialect in _DROPS_FOREIGN_KEYS:
        ours = {tuple(c.name for c in key.columns) for key in foreign_keys(table)}
        for name, columns in _present_foreign_keys(conn, table).items():
            if columns in ours:
                conn.execute(drop_foreign_key_statement(_foreign_key(table, columns, name)))
                dropped.append(name)
    for index in secondary_indexes(table):
        if index.name in present:
            conn.execute(drop_index_statement(index, dialect))
            dropped.append(str(index.name))
    return dropped


def build_secondary(conn: Connection, table: str) -> list[str]:
    """Build whichever of the table's secondary indexes and foreign keys are missing; return their names."""
    dialect = conn.dialect.name
    _in_transaction(conn)
    present = _present_indexes(conn, table)
    built = []
    with schema.index_build_memory(conn):
        for index in secondary_indexes(table):
            if index.name not in present:
                conn.execute(create_index_statement(index, dialect))
                built.append(str(index.name))
    if dialect in _DROPS_FOREIGN_KEYS:
        present_keys = _present_foreign_keys(conn, table)
        for key in foreign_keys(table):
            if not _has_foreign_key(present_keys, key):
                conn.execute(add_foreign_key_statement(key))
                if dialect == "postgresql":
                    conn.execute(validate_foreign_key_statement(key))
                built.append(str(key.name))
    return built


def analyze(conn: Connection, table: str) -> None:
    if conn.dialect.name == "sqlite":
        schema.refresh_statistics(conn, HIRING_TABLES[table])
    else:
        conn.execute(analyze_statement(table, conn.dialect.name))


def build_missing_secondary(engine: Engine) -> dict[str, list[str]]:
    """At a process start: build what a bulk load that crashed left missing, in every hiring table.

    Returns what was built, by table; each table's build commits on its own.
    """
    built: dict[str, list[str]] = {}
    for table in HIRING_TABLES:
        with engine.connect() as conn:
            if not _missing(conn, table):
                continue
            names = build_secondary(conn, table)
            if names:
                analyze(conn, table)
                built[table] = names
            conn.commit()
    return built


def _in_transaction(conn: Connection) -> None:
    """SQLite's Python driver opens a transaction before DML only, so DDL first in a unit of work would commit at
    once: begin one explicitly (with the write lock, as ``SqlHiringRows.lock`` does), so the DDL commits or rolls
    back with the rest."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _missing(conn: Connection, table: str) -> bool:
    present = _present_indexes(conn, table)
    if any(index.name not in present for index in secondary_indexes(table)):
        return True
    if conn.dialect.name not in _DROPS_FOREIGN_KEYS:
        return False
    keys = _present_foreign_keys(conn, table)
    return not all(_has_foreign_key(keys, key) for key in foreign_keys(table))


def _present_indexes(conn: Connection, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(conn).get_indexes(table) if index["name"]}


def _present_foreign_keys(conn: Connection, table: str) -> dict[str, tuple[str, ...]]:
    return {str(key["name"]): tuple(key["constrained_columns"]) for key in inspect(conn).get_foreign_keys(table)}


def _has_foreign_key(present: dict[str, tuple[str, ...]], key: ForeignKeyConstraint) -> bool:
    """By its columns: a key added by the migrations under another name counts."""
    return tuple(c.name for c in key.columns) in present.values()
