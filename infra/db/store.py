"""``SqlHiringStore``: the hiring tables in any SQLAlchemy database, written in bulk."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.clock import utcnow
from core.ports import BatchTransaction, HiringStore, WriteConflict
from domain.loads import COUNT_FIELDS, Checkpoint, RejectedRow, TableCounts
from infra.db.engine import connect
from infra.db.schema import HIRING_TABLES, ingest_checkpoints, rejected_rows
from infra.db.utc import to_column

# A batch whose ids span at most this many times its size is looked up by id range, one
# indexed scan, rather than by a list of a thousand bound ids; files are mostly in id order.
DENSE_SPAN = 4


class BulkInserter:
    """The fastest safe way to insert many rows into one table on one dialect."""

    def __init__(self, dialect: Dialect, table_name: str) -> None:
        table = HIRING_TABLES[table_name]
        self.columns = [c.name for c in table.columns]
        self.use_copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.copy_sql = f"COPY {table.name} ({', '.join(self.columns)}) FROM STDIN"
        # Binary COPY spares both sides the text round trip of numbers and timestamps.
        self.copy_types = _binary_copy_types(table)
        if self.copy_types:
            self.copy_sql += " (FORMAT BINARY)"
        compiled = insert(table).compile(dialect=dialect, column_keys=self.columns)
        self.sql = str(compiled)
        self.positional = dialect.paramstyle in ("qmark", "format", "numeric")
        processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]
        self.processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(processors) if p is not None
        ]
        self.table = table

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if self.use_copy:
            if not conn.in_transaction():
                conn.begin()  # else the COPY below would escape SQLAlchemy's commit() and rollback()
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            driver_error = conn.dialect.loaded_dbapi.Error
            try:
                with cursor.copy(self.copy_sql) as copy:
                    if self.copy_types:
                        copy.set_types(self.copy_types)
                    for row in rows:
                        copy.write_row(row)
            except driver_error as error:
                # COPY bypasses SQLAlchemy, so psycopg's own classes come out; give them the classes an
                # execute() would raise (IntegrityError, OperationalError, ...) so callers handle one kind.
                raise DBAPIError.instance(self.copy_sql, None, error, driver_error, dialect=conn.dialect) from error
            return
        if not self.positional:
            conn.execute(insert(self.table), [dict(zip(self.columns, row, strict=False)) for row in rows])
            return
        if self.processors:
            converted = []
            for row in rows:
                values = list(row)
                for i, process in self.processors:
                    values[i] = process(values[i])
                converted.append(tuple(values))
            conn.exec_driver_sql(self.sql, converted)
        else:
            conn.exec_driver_sql(self.sql, list(rows))


def _binary_copy_types(table: Table) -> list[str] | None:
    """PostgreSQL's name for each column's type, for a binary COPY; None if one is not known here."""
    names = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, DateTime):
            names.append("timestamptz" if kind.timezone else "timestamp")
        elif isinstance(kind, BigInteger):
            names.append("int8")
        elif isinstance(kind, Integer):
            names.append("int4")
        elif isinstance(kind, String):
            names.append("text")
        else:
            return None
    return names


@functools.cache
def bulk_inserter(dialect: Dialect, table_name: str) -> BulkInserter:
    """One inserter per dialect and table, built once: compiling the statement is not free."""
    return BulkInserter(dialect, table_name)


@functools.cache
def _rows_in_range(table: str) -> Select[Any]:
    t = HIRING_TABLES[table]
    return select(t).where(t.c.id.between(bindparam("low"), bindparam("high")))


@functools.cache
def _rows_with_ids(table: str) -> Select[Any]:
    t = HIRING_TABLES[table]
    return select(t).where(t.c.id.in_(bindparam("ids", expanding=True)))


class SqlBatchTransaction(BatchTransaction):
    def __init__(self, store: SqlHiringStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self.committed = False

    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        if not ids:
            return {}
        low, high = min(ids), max(ids)
        if high - low < DENSE_SPAN * len(ids):
            wanted = set(ids)
            rows = self._conn.execute(_rows_in_range(table), {"low": low, "high": high})
            return {row[0]: tuple(row) for row in rows if row[0] in wanted}
        return {row[0]: tuple(row) for row in self._conn.execute(_rows_with_ids(table), {"ids": list(ids)})}

    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        t = HIRING_TABLES[table]
        query = select(t.c.id).where(t.c.id.in_(bindparam("ids", expanding=True)))
        return set(self._conn.execute(query, {"ids": list(ids)}).scalars())

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        # In id order, so that two writers of overlapping ids wait on each other instead of deadlocking.
        ordered = sorted(rows, key=itemgetter(0))
        try:
            bulk_inserter(self._conn.dialect, table).insert(self._conn, ordered)
        except DBAPIError as error:
            if is_write_conflict(error):
                raise WriteConflict(str(error.orig)) from error
            raise

    def log_rejections(self, rejections: Sequence[RejectedRow]) -> None:
        now = to_column(utcnow())
        self._conn.execute(
            insert(rejected_rows),
            [
                {
                    "job_id": r.job_id,
                    "batch": r.batch,
                    "table_name": r.table,
                    "source": r.source[:400],
                    "line_number": r.position,
                    "raw_record": r.raw,
                    "reasons": json.dumps([reason.as_dict() for reason in r.reasons], ensure_ascii=False),
                    "created_at": now,
                }
                for r in rejections
            ],
        )

    def save_checkpoint(self, job_id: str, table: str, checkpoint: Checkpoint) -> None:
        values = {"position": checkpoint.position, "updated_at": to_column(utcnow()), **checkpoint.counts.as_dict()}
        c = ingest_checkpoints.c
        changed = self._conn.execute(
            update(ingest_checkpoints).where(c.job_id == job_id, c.table_name == table).values(**values)
        ).rowcount
        if not changed:
            self._conn.execute(insert(ingest_checkpoints).values(job_id=job_id, table_name=table, **values))

    def commit(self) -> None:
        self._conn.commit()
        self.committed = True


# A deadlock or a serialization failure: the database rolled the transaction back to let another one through.
_ROLLED_BACK_FOR_ANOTHER = frozenset({"40001", "40P01"})


def is_write_conflict(error: DBAPIError) -> bool:
    """Whether another transaction's write caused ``error``: the same work, done again in a new
    transaction, sees that write (a duplicate id, a missing parent) and can succeed."""
    return isinstance(error, IntegrityError) or getattr(error.orig, "sqlstate", None) in _ROLLED_BACK_FOR_ANOTHER


class SqlHiringStore(HiringStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[BatchTransaction]:
        with self._connect() as conn:
            tx = SqlBatchTransaction(self, conn)
            try:
                yield tx
            finally:
                if not tx.committed:
                    conn.rollback()

    def _connect(self) -> AbstractContextManager[Connection]:
        return connect(self.engine)

    def load_checkpoint(self, job_id: str, table: str) -> Checkpoint | None:
        c = ingest_checkpoints.c
        with self._connect() as conn:
            row = (
                conn.execute(select(ingest_checkpoints).where(c.job_id == job_id, c.table_name == table))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return Checkpoint(row["position"], TableCounts(**{k: row[k] for k in COUNT_FIELDS}))

    def rejections(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        c = rejected_rows.c
        query = select(rejected_rows).where(c.job_id == job_id).order_by(c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "table": r["table_name"],
                "source": r["source"],
                "line": r["line_number"],
                "batch": r["batch"],
                "record": r["raw_record"],
                "reasons": json.loads(r["reasons"]),
            }
            for r in rows
        ]

    def count_rows(self, table: str) -> int:
        with self._connect() as conn:
            return int(conn.execute(select(func.count()).select_from(HIRING_TABLES[table])).scalar_one())

    def check(self) -> None:
        with self._connect() as conn:
            conn.exec_driver_sql("SELECT 1")
