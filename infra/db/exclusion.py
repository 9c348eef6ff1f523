"""``SqlJobAdmission``: a job recorded in ``background_jobs`` only if no job in its way is unfinished.

The look and the insert happen in one transaction that first takes a lock every submission takes,
held until it ends: two submissions at the same instant take turns, and the second sees the first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, insert, select

from core.table_exclusion import Blocks, JobAdmission
from domain.background_jobs import FINISHED_STATES, BackgroundJob, JobState
from infra.db.engine import connect
from infra.db.jobs import job_values
from infra.db.schema import background_jobs
from infra.db.utc import from_column

_c = background_jobs.c
_FINISHED = [state.value for state in FINISHED_STATES]
# Any fixed number: PostgreSQL's advisory locks are named by a 64-bit integer, within one database.
ADMISSION_LOCK = 0x68697265666C6F77
MSSQL_ADMISSION_LOCK = (
    "EXEC sp_getapplock @Resource = 'hireflow:job-admission', @LockMode = 'Exclusive', @LockOwner = 'Transaction'"
)


def unfinished_statement(kinds: Collection[str] | None = None) -> Select[Any]:
    query = select(_c.id, _c.kind, _c.params, _c.state, _c.created_at).where(_c.state.not_in(_FINISHED))
    if kinds is not None:
        query = query.where(_c.kind.in_(list(kinds)))
    return query.order_by(_c.created_at, _c.id)


def _unfinished(conn: Connection, kinds: Collection[str] | None = None) -> Iterator[BackgroundJob]:
    for row in conn.execute(unfinished_statement(kinds)):
        yield BackgroundJob(
            id=row.id,
            kind=row.kind,
            params=row.params,
            state=JobState(row.state),
            created_at=from_column(row.created_at),
        )


def _take_turns(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(ADMISSION_LOCK)))
    elif dialect == "mssql":
        conn.exec_driver_sql(MSSQL_ADMISSION_LOCK)
    else:
        raise NotImplementedError(f"no admission lock for {dialect}")


class SqlJobAdmission(JobAdmission):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_unless(self, job: BackgroundJob, blocks: Blocks) -> BackgroundJob | None:
        with connect(self.engine) as conn:
            _take_turns(conn)
            blocker = next((other for other in _unfinished(conn) if blocks(other)), None)
            if blocker is None:
                conn.execute(insert(background_jobs), [job_values(job)])
                conn.commit()
            else:
                conn.rollback()
        return blocker

    def unfinished(self, kinds: Collection[str]) -> list[BackgroundJob]:
        with connect(self.engine) as conn:
            return list(_unfinished(conn, kinds))
