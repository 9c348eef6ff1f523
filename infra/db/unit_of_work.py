"""``SqlDatabase`` and ``SqlUnitOfWork``: the repositories of every capability on one connection, in one transaction.

``database()`` opens a unit of work; leaving its ``with`` block without ``commit()`` rolls back.
The database being unreachable, or lost mid-way, surfaces as ``Unavailable``. On a SQLite file a
unit of work takes the writers' turn (``WriterTurn``) at its first write and gives it back when its
transaction ends, however it ends.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from core.backup.ports import TableSnapshot, TableSnapshots
from core.unit_of_work import UnitOfWork
from infra.db import held_back
from infra.db.engine import TURN_KEY, connect, writer_turn
from infra.db.hiring_rows import SqlHiringRows
from infra.db.ingest_log import SqlBatchSummaries, SqlCheckpoints, SqlRejections
from infra.db.job_rows import SqlJobRepository
from infra.db.postgres import uses_psycopg
from infra.db.snapshots import table_snapshot


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._exit = ExitStack()
        self._turn = writer_turn(engine)

    def __enter__(self) -> Self:
        conn = self._exit.enter_context(connect(self._engine))
        self.rows = self._rows = SqlHiringRows(conn)
        if self._turn is not None:
            conn.info[TURN_KEY] = self._turn
            self._exit.callback(self._forget_turn, conn)
        # These run before the connection goes back to the pool (and before the turn is given back), the
        # rollback first, then the clean-up of staging tables; an error there is translated by ``connect``.
        self._exit.callback(self._clean_up)
        self._exit.callback(conn.rollback)
        self._held_back = uses_psycopg(conn.dialect)
        if self._held_back:
            held_back.hold_back(conn)
            self._exit.callback(held_back.forget, conn)
        self._conn = conn
        self.rejections = SqlRejections(conn)
        self.checkpoints = SqlCheckpoints(conn)
        self.batches = SqlBatchSummaries(conn)
        self.jobs = SqlJobRepository(conn)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._exit.__exit__(exc_type, exc, traceback)

    # A commit or rollback that fails keeps the turn until the ``with`` block ends, after the last rollback.
    def commit(self) -> None:
        if self._held_back:
            held_back.commit(self._conn)
        else:
            self._rows.before_commit()
            self._conn.commit()
        self._give_back_turn()

    def _clean_up(self) -> None:
        # Only staging tables to drop make statements (and a commit): foreign keys a bulk batch turned off stay off
        # on the connection, no longer wanted.
        staged = bool(self._rows.staged)
        try:
            self._rows.clean_up()
            if staged:
                self._conn.commit()
        except DBAPIError:
            # A connection that could not be put back as it was is not put back at all.
            self._conn.invalidate()
            raise

    def rollback(self) -> None:
        held_back.forget(self._conn)
        self._conn.rollback()
        self._give_back_turn()

    def _give_back_turn(self) -> None:
        if self._turn is not None:
            self._turn.give_back()

    def _forget_turn(self, conn: Connection) -> None:
        conn.info.pop(TURN_KEY, None)
        self._give_back_turn()


class SqlDatabase(TableSnapshots):
    """The SQL database as the core uses it: each call opens a unit of work; ``snapshot`` reads a whole table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        held_back.send_before_each_statement(engine)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def snapshot(self, table: str) -> AbstractContextManager[TableSnapshot]:
        return table_snapshot(self.engine, table)

    @property
    def single_writer(self) -> bool:
        """Whether, while one transaction writes, no other connection can write (SQLite)."""
        return self.engine.dialect.name == "sqlite"

    def check(self) -> None:
        """Raise ``Unavailable`` if the database cannot be reached."""
        with connect(self.engine) as conn:
            conn.exec_driver_sql("SELECT 1")
