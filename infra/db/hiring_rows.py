"""``SqlHiringRows``: the hiring tables in the unit of work's transaction, written in bulk.

Every statement is built by a function below so that a test can compile each one for SQL Server
as well as for SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Delete,
    Dialect,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.unit_of_work import HiringRows, Missing, StagedRows, StorageForm, WriteConflict
from infra.db import bulk, held_back
from infra.db.engine import FOREIGN_KEYS_OFF, WANTS_FOREIGN_KEYS_OFF, first_line
from infra.db.postgres import CopyIn, column_list, driver_cursor, microseconds, uses_psycopg
from infra.db.schema import HIRING_TABLES, drop_secondary_indexes, refresh_statistics
from infra.db.staging import SqlStagedRows, merge_staged, move_staged, orphans, staged_of, staging_table

# A batch whose ids span at most this many times its size is looked up by id range, one
# indexed scan, rather than by a list of a thousand bound ids; files are mostly in id order.
# On PostgreSQL this lookup and then a COPY straight into the table took 1.09 s for 100 000 rows in
# 1000-row transactions, against 2.45 s for a COPY into a TEMP staging table followed by one
# INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING (best of 3, side by side): every row written twice.
DENSE_SPAN = 4
DELETE_CHUNK = 1000


def ids_statement(table: Table) -> Select[Any]:
    return select(table.c.id)


def referenced_ids_statement(table: Table, column: str) -> Select[Any]:
    return select(table.c[column]).distinct()


def delete_all_statement(table: Table) -> Delete:
    return delete(table)


def truncate_statement(table: Table) -> str:
    """PostgreSQL: empty ``table`` at once, in the transaction, without a dead row left to index or vacuum."""
    return f"TRUNCATE {table.name}"


# Whether a foreign key refers to the table: PostgreSQL then refuses to TRUNCATE it, or to drop its primary key.
_REFERENCED = "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = CAST(%s AS regclass))"
_PRIMARY_KEY = "SELECT conname FROM pg_constraint WHERE contype = 'p' AND conrelid = CAST(%s AS regclass)"


def drop_constraint_statement(table: Table, name: str) -> str:
    return f"ALTER TABLE {table.name} DROP CONSTRAINT {name}"


def add_primary_key_statement(table: Table, name: str) -> str:
    """PostgreSQL: the primary key built in one pass over the rows, refusing the table if an id is there twice."""
    return f"ALTER TABLE {table.name} ADD CONSTRAINT {name} PRIMARY KEY ({', '.join(table.primary_key.columns.keys())})"


def delete_ids_statement(table: Table) -> Delete:
    return delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


def update_by_id_statement(table: Table) -> Update:
    values: dict[str, Any] = {c.name: bindparam(f"new_{c.name}") for c in table.columns if c.name != "id"}
    return update(table).where(table.c.id == bindparam("old_id")).values(values)


def lock_statement(table: Table) -> str:
    """PostgreSQL: writers of ``table`` wait until the transaction ends; readers (reports, backups) do not."""
    return f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"


class BulkInserter:
    """The fastest safe way to insert many rows into one table on one dialect."""

    def __init__(self, dialect: Dialect, table_or_name: Table | str) -> None:
        table = HIRING_TABLES[table_or_name] if isinstance(table_or_name, str) else table_or_name
        self.columns = [c.name for c in table.columns]
        self.copy = CopyIn(table) if uses_psycopg(dialect) else None
        self.use_copy = self.copy is not None
        compiled = insert(table).compile(dialect=dialect, column_keys=self.columns)
        self.sql = str(compiled)
        self.positional = dialect.paramstyle in ("qmark", "format", "numeric")
        processors = [_bind_processor(dialect, c.type) for c in table.columns]
        self.processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(processors) if p is not None
        ]
        self.table = table
        # Five columns, the third a datetime that SQLite stores as text: hired_employees on SQLite.
        self._datetime_third = (
            dialect.name == "sqlite" and len(self.columns) == 5 and [i for i, _ in self.processors] == [2]
        )
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in table.columns]
        self._results = [(i, p) for i, p in enumerate(results) if p is not None]

    def storage_form(self) -> StorageForm:
        """Rows as the driver takes them, where the insert converts values (``encode``); else the values as they are."""
        if self.copy is not None:
            if not self.copy.moments:
                return StorageForm()
            return StorageForm(self.copy.encode, self.copy.decode, datetime_value=microseconds)
        if not self.positional or not self.processors:
            return StorageForm()
        return StorageForm(self.encode, self.decode, _sqlite_datetime_text if self._datetime_third else None)

    def encode(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """One row with the column types' conversions applied, as ``insert`` applies them."""
        if self._datetime_third:
            # The hired_employees row on SQLite, its one conversion (``_bind_processor``'s) without the loop below,
            # which costs three times as much: an API batch of 1000 rows converts each.
            a, b, c, d, e = row
            return (a, b, self.processors[0][1](c), d, e)
        values = list(row)
        for i, process in self.processors:
            values[i] = process(values[i])
        return tuple(values)

    def decode(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """``encode`` undone: the values as a read of the table gives them."""
        values = list(row)
        for i, process in self._results:
            values[i] = process(values[i])
        return tuple(values)

    def insert(
        self, conn: Connection, rows: Sequence[tuple[Any, ...]], *, encoded: bool = False, key_checks: bool = True
    ) -> None:
        """Insert ``rows``, the entities' values or (``encoded``) rows of ``storage_form``. Without ``key_checks``, the
        table's foreign keys are known to be dropped (PostgreSQL's COPY then plans none)."""
        if self.copy is not None:
            self.copy(conn, rows, key_checks=key_checks, encoded=encoded)
            return
        if not self.positional:
            conn.execute(insert(self.table), [dict(zip(self.columns, row, strict=False)) for row in rows])
            return
        if encoded or not self.processors:
            conn.exec_driver_sql(self.sql, list(rows))
        else:
            conn.exec_driver_sql(self.sql, list(map(self.encode, rows)))


def _bind_processor(dialect: Dialect, kind: Any) -> Callable[[Any], Any] | None:
    """The column type's own conversion of a value for the driver; on SQLite a faster one for naive datetimes."""
    process: Callable[[Any], Any] | None = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or not isinstance(kind, DateTime):
        return process
    slow = process

    def sqlite_datetime(value: Any) -> Any:
        # The text SQLAlchemy's SQLite DATETIME stores (2021-11-07 02:48:42.000000), at a fifth of its cost.
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return slow(value)

    return sqlite_datetime


def _sqlite_datetime_text(text: str) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores for the canonical text of a datetime (``2021-11-07T02:48:42``
    → ``2021-11-07 02:48:42.000000``), without making the datetime."""
    return f"{text[:10]} {text[11:]}.000000"


@functools.cache
def bulk_inserter(dialect: Dialect, table: Table | str) -> BulkInserter:
    """One inserter per dialect and table, built once: compiling the statement is not free."""
    return BulkInserter(dialect, table)


@functools.cache
def _rows_in_range(table: str) -> Select[Any]:
    t = HIRING_TABLES[table]
    return select(t).where(t.c.id.between(bindparam("low"), bindparam("high")))


@functools.cache
def _rows_with_ids(table: str) -> Select[Any]:
    t = HIRING_TABLES[table]
    return select(t).where(t.c.id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _postgres_lookups(table: str) -> tuple[str, str]:
    """The two lookups above in PostgreSQL's words, for psycopg's cursor: by id range, by a list of ids."""
    t = HIRING_TABLES[table]
    head = f"SELECT {column_list(t)} FROM {t.name} WHERE id "  # nosec B608: names from our own schema, values bound
    return head + "BETWEEN %s AND %s", head + "= ANY(%s::int8[])"


@functools.cache
def _postgres_ids_lookup(table: str) -> str:
    """Which of a list of ids ``table`` holds, in PostgreSQL's words for psycopg's cursor."""
    return f"SELECT id FROM {HIRING_TABLES[table].name} WHERE id = ANY(%s::int8[])"  # nosec B608: our own table name


_SEEN_KEY = "hireflow.parent_ids_seen"
_SQLITE_VERSIONS = "SELECT data_version, schema_version FROM pragma_data_version(), pragma_schema_version()"


@functools.cache
def _sqlite_ids_lookup(table: str) -> str:
    """Which of a JSON array of ids ``table`` holds, in SQLite's words."""
    return f"SELECT id FROM {HIRING_TABLES[table].name} WHERE id IN (SELECT value FROM json_each(?))"  # nosec B608


class SqlHiringRows(HiringRows):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = uses_psycopg(conn.dialect)
        self.staged: list[SqlStagedRows] = []
        self.foreign_keys_off = False
        self._references_checked = False
        self._key_checks = True
        # SQLite, a bulk load's batch: the ids of each parent table known to be there (``references_checked_here``).
        self._seen: dict[str, set[int]] | None = None
        self._versions: tuple[int, ...] = ()
        self._dropped_keys: dict[str, str] = {}

    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        if not ids:
            return {}
        low, high = min(ids), max(ids)
        dense = high - low < DENSE_SPAN * len(ids)
        rows: Iterable[Sequence[Any]]
        if self._postgres:
            by_range, by_list = _postgres_lookups(table)
            sql, params = (by_range, (low, high)) if dense else (by_list, (list(ids),))
            rows = held_back.query(self._conn, sql, params)
        elif dense:
            rows = self._conn.execute(_rows_in_range(table), {"low": low, "high": high})
        else:
            rows = self._conn.execute(_rows_with_ids(table), {"ids": list(ids)})
        if dense:
            wanted = set(ids)
            return {row[0]: tuple(row) for row in rows if row[0] in wanted}
        return {row[0]: tuple(row) for row in rows}

    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        if self._postgres:
            # One array parameter: no statement text per number of ids to build, convert and plan.
            sql = _postgres_ids_lookup(table)
            held_back.send(self._conn)
            with driver_cursor(self._conn, sql) as cursor:
                return {row[0] for row in cursor.execute(sql, (list(ids),))}
        if self._conn.dialect.name == "sqlite":
            if self._seen is not None:  # a bulk load's batch: the ids found before, if nothing could remove them since
                wanted = set(ids)
                known = self._seen.setdefault(table, set())
                if missing := wanted - known:
                    known.update(self._sqlite_ids(table, missing))
                return wanted & known
            return self._sqlite_ids(table, ids)
        t = HIRING_TABLES[table]
        query = select(t.c.id).where(t.c.id.in_(bindparam("ids", expanding=True)))
        return set(self._conn.execute(query, {"ids": list(ids)}).scalars())

    def _sqlite_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        # One JSON array parameter, one statement text whatever the number of ids.
        found = self._conn.exec_driver_sql(_sqlite_ids_lookup(table), (json.dumps(list(ids)),))
        return {row[0] for row in found}

    def _sqlite_state(self, versions: tuple[int, ...]) -> tuple[int, ...]:
        """What moves whenever a row could have left a table since it was last read on this connection: another
        connection's commit (``data_version``) and a change of any table's definition (``schema_version``), both in
        ``versions``; a row written on this connection (``total_changes``); the connection itself."""
        driver = self._conn.connection.driver_connection
        return (id(driver), *versions, driver.total_changes)  # type: ignore[union-attr]

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]] | StagedRows) -> None:
        if isinstance(rows, StagedRows):
            rows = staged_of(rows, table)
            with _conflicts():
                move_staged(self._conn, rows)
            return
        self._insert(table, rows, encoded=False)

    def storage_form(self, table: str) -> StorageForm:
        return bulk_inserter(self._conn.dialect, table).storage_form()

    def insert_stored_form(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert(table, rows, encoded=True)

    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]], *, encoded: bool) -> None:
        # In id order, so that two writers of overlapping ids wait on each other instead of deadlocking.
        ordered = sorted(rows, key=itemgetter(0))
        if self._postgres:
            held_back.send(self._conn)
        with _conflicts():
            bulk_inserter(self._conn.dialect, table).insert(
                self._conn, ordered, encoded=encoded, key_checks=self._key_checks
            )

    def count(self, table: str) -> int:
        return int(self._conn.execute(select(func.count()).select_from(HIRING_TABLES[table])).scalar_one())

    def lock(self, tables: Collection[str], *, references_checked: bool = False) -> None:
        dialect = self._conn.dialect.name
        self._references_checked = references_checked
        if dialect == "sqlite":
            if references_checked:
                # SQLite checks foreign keys row by row, and a DELETE of a whole table with them on goes
                # row by row too (0.6 s against 0.02 s for 200 000 employees).
                self._foreign_keys_off()
            self._conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            # Children first, as a batch locks its own table and then, for its foreign keys, the parents:
            # in the other order a restore and a batch of employees could each wait for the other.
            for table in sorted(tables, key=list(HIRING_TABLES).index, reverse=True):
                self._conn.exec_driver_sql(lock_statement(HIRING_TABLES[table]))

    def references_checked_here(self) -> bool:
        if self._postgres:
            # The load's foreign keys are dropped until it ends (bulk mode): its COPYs need no plan for their checks,
            # and a batch saves the round trip that sets one.
            self._key_checks = False
            return False
        if self._conn.dialect.name != "sqlite":
            return False
        # Two look-ups in the parents' primary keys for each employee inserted: 0.5 to 0.65 s of CPU in a million,
        # where the load's own check is two queries a batch. BEGIN IMMEDIATE: no writer (a restore of departments,
        # say) can come between that check and the commit.
        self._foreign_keys_off()
        self._conn.exec_driver_sql("BEGIN IMMEDIATE")
        # The parents' ids that the connection's last bulk batch found stand while nothing changed since: the
        # look-ups cost a fifth of a batch's own time, and the parent tables hardly ever change during a load.
        state, seen = self._conn.info.get(_SEEN_KEY, (None, None))
        self._versions = tuple(self._conn.exec_driver_sql(_SQLITE_VERSIONS).one())
        self._seen = seen if seen is not None and state == self._sqlite_state(self._versions) else {}
        return True

    def _foreign_keys_off(self) -> None:
        """The pragma only takes effect outside a transaction, so before the BEGIN. The connection keeps them off
        after the unit of work, until a statement of any other turns them on (``infra/db/engine.py``)."""
        info = self._conn.info
        info[WANTS_FOREIGN_KEYS_OFF] = True
        if FOREIGN_KEYS_OFF not in info:
            self._conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            info[FOREIGN_KEYS_OFF] = True
        self.foreign_keys_off = True

    def delete_all(self, table: str) -> None:
        with _conflicts():
            if self._postgres and not self._referenced(table):
                # A DELETE leaves every row in the table, dead to this transaction only: the rows inserted next go
                # after them, and an index built before the commit takes both (1.3 times the insert, twice the
                # build, for 100 000 employees). A backup sees the rows of before or of after, never none
                # (``table_snapshot`` locks the table before its snapshot).
                self._conn.exec_driver_sql(truncate_statement(HIRING_TABLES[table]))
            else:
                self._conn.execute(delete_all_statement(HIRING_TABLES[table]))

    def _referenced(self, table: str) -> bool:
        with driver_cursor(self._conn, _REFERENCED) as cursor:
            return bool(cursor.execute(_REFERENCED, (table,)).fetchone()[0])

    def _primary_key(self, table: str) -> str | None:
        with driver_cursor(self._conn, _PRIMARY_KEY) as cursor:
            found = cursor.execute(_PRIMARY_KEY, (table,)).fetchone()
        return None if found is None else str(found[0])

    def stage(self, table: str) -> StagedRows:
        inserter = bulk_inserter(self._conn.dialect, staging_table(table))
        staged = SqlStagedRows(self._conn, table, functools.partial(inserter.insert, self._conn))
        self.staged.append(staged)
        return staged

    def drop_secondary_indexes(self, table: str) -> None:
        if self._references_checked:
            # Checked by the caller under the lock: PostgreSQL's foreign keys, which check each row inserted
            # with a query of its own (1.7 s of the 2.0 s an INSERT … SELECT of 100 000 employees took),
            # go with the indexes and come back validated by one scan.
            with _conflicts():
                bulk.drop_secondary(self._conn, table)
                if self._postgres and not self._referenced(table):
                    self._drop_primary_key(table)
        else:
            drop_secondary_indexes(self._conn, HIRING_TABLES[table])

    def _drop_primary_key(self, table: str) -> None:
        """PostgreSQL: the primary key too, built again by ``build_secondary_indexes`` in one pass that checks every
        id once, instead of row by row (an INSERT … SELECT of 100 000 employees took twice the time with it)."""
        name = self._primary_key(table)
        if name is not None:
            self._conn.exec_driver_sql(drop_constraint_statement(HIRING_TABLES[table], name))
            self._dropped_keys[table] = name

    def build_secondary_indexes(self, table: str) -> None:
        with _conflicts():
            key = self._dropped_keys.pop(table, None)
            if key is not None:
                self._conn.exec_driver_sql(add_primary_key_statement(HIRING_TABLES[table], key))
            bulk.build_secondary(self._conn, table)
        refresh_statistics(self._conn, HIRING_TABLES[table])

    def before_commit(self) -> None:
        """Last thing in the transaction. A bulk batch on SQLite keeps the parents' ids it found for the connection's
        next one, with the state it leaves the connection in. The versions are those read when the transaction
        began: it holds the write lock, so no other connection committed since, and a definition changed in it
        (the drop or build of indexes) only makes the next batch look its ids up again."""
        if self._seen is not None:
            self._conn.info[_SEEN_KEY] = (self._sqlite_state(self._versions), self._seen)
            self._seen = None

    def clean_up(self) -> None:
        """Outside any transaction, once the unit of work ended: put its connection back as it found it.

        Staging tables outlive transactions, not connections. Foreign keys turned off stay off on the connection,
        no longer wanted: its next statement turns them on, unless it is the next unit of work that wants them off.
        """
        while self.staged:
            self.staged.pop().drop()
        if self.foreign_keys_off:
            self._conn.info.pop(WANTS_FOREIGN_KEYS_OFF, None)
            self.foreign_keys_off = False

    def orphans(self, table: str, column: str, parent: StagedRows, limit: int) -> Missing:
        return orphans(self._conn, table, column, parent, limit)

    def merge(self, table: str, rows: StagedRows) -> None:
        rows = staged_of(rows, table)
        with _conflicts():
            merge_staged(self._conn, rows)

    def drop_secondary(self, table: str) -> None:
        # Two parts of one file may each start a bulk load: PostgreSQL's deadlock between their DDL is a conflict.
        with _conflicts():
            bulk.drop_secondary(self._conn, table)

    def build_secondary(self, table: str) -> None:
        with _conflicts():
            bulk.build_secondary(self._conn, table)

    def analyze(self, table: str) -> None:
        bulk.analyze(self._conn, table)


@contextmanager
def _conflicts() -> Iterator[None]:
    try:
        yield
    except DBAPIError as error:
        if is_write_conflict(error):
            raise WriteConflict(first_line(error)) from error
        raise


# A deadlock or a serialization failure: the database rolled the transaction back to let another one through.
_ROLLED_BACK_FOR_ANOTHER = frozenset({"40001", "40P01"})


def is_write_conflict(error: DBAPIError) -> bool:
    """Whether another transaction's write caused ``error``: the same work, done again in a new
    transaction, sees that write (a duplicate id, a missing parent) and can succeed."""
    return isinstance(error, IntegrityError) or getattr(error.orig, "sqlstate", None) in _ROLLED_BACK_FOR_ANOTHER
