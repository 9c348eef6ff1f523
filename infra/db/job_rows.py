"""``SqlJobRepository``: background jobs in the ``background_jobs`` table, in the unit of work's transaction.

Times are aware UTC in the core and naive UTC in the columns; they are converted here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    Update,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from core.jobs.ports import JobRepository
from domain.background_jobs import FINISHED_STATES, RUNNING_STATES, BackgroundJob, JobProgress, JobState, Lease
from infra.db.held_back import query
from infra.db.postgres import uses_psycopg
from infra.db.prepared import prepared
from infra.db.schema import background_jobs
from infra.db.utc import from_column, to_column

_c = background_jobs.c
_RUNNING = [state.value for state in RUNNING_STATES]
_FINISHED = [state.value for state in FINISHED_STATES]
# Any fixed number: PostgreSQL's advisory locks are named by a 64-bit integer, within one database.
ADMISSION_LOCK = 0x68697265666C6F77
MSSQL_ADMISSION_LOCK = (
    "EXEC sp_getapplock @Resource = 'hireflow:job-admission', @LockMode = 'Exclusive', @LockOwner = 'Transaction'"
)


# The columns ``_progress_values`` fills, in its order.
_PROGRESS_COLUMNS = ("rows_done", "rows_total", "percent", "counts")


def _progress_values(progress: JobProgress) -> dict[str, Any]:
    return {
        "rows_done": progress.rows_done,
        "rows_total": progress.rows_total,
        "percent": progress.percent,
        "counts": progress.counts,
    }


@functools.cache
def _postgres_report(with_progress: bool) -> str:
    """``report`` in PostgreSQL's words: renew the lease (and record the progress), then whether it was held and
    whether the job was cancelled, in one statement."""
    columns = ["heartbeat_at"]
    if with_progress:
        columns += ["state", *_PROGRESS_COLUMNS]
    assigned = ", ".join(f"{name} = %s::json" if name == "counts" else f"{name} = %s" for name in columns)
    table = background_jobs.name
    return (
        f"WITH renewed AS (UPDATE {table} SET {assigned} "  # nosec B608: our names, bound values
        "WHERE id = %s AND worker = %s AND state = ANY(%s) RETURNING id) "
        f"SELECT (SELECT count(*) FROM renewed), cancel_requested FROM {table} WHERE id = %s"
    )


def _renew_statement(progress: bool, *, with_state: bool = True) -> Update:
    """The lease renewal of a running job's worker, with its progress or without; the states are our constants.
    Without ``with_state``, the progress leaves the job's state as it is."""
    running: list[ColumnElement[Any]] = [literal_column(f"'{state}'") for state in _RUNNING]
    mine = and_(_c.id == bindparam("job_id"), _c.worker == bindparam("worker"), _c.state.in_(running))
    values: dict[str, Any] = {"heartbeat_at": bindparam("now")}
    if progress:
        values.update({name: bindparam(name) for name in _PROGRESS_COLUMNS})
        if with_state:
            values["state"] = bindparam("state")
    return update(background_jobs).where(mine).values(**values)


_RENEW = prepared(lambda: _renew_statement(progress=False))
_RENEW_WITH_PROGRESS = prepared(lambda: _renew_statement(progress=True))
_CANCEL_REQUESTED = prepared(lambda: select(_c.cancel_requested).where(_c.id == bindparam("job_id")))
# Where an UPDATE can return what it updated (SQLite, SQL Server): the renewal says in the same statement whether the
# job was cancelled; a batch of a load sends one statement fewer.
_RENEW_RETURNING = prepared(lambda: _renew_statement(progress=False).returning(_c.cancel_requested))
_RENEW_WITH_PROGRESS_RETURNING = prepared(lambda: _renew_statement(progress=True).returning(_c.cancel_requested))
# SQLite: the progress of a job already in PROGRESS leaves its state alone. An UPDATE that assigns a column of an
# index rewrites the index entry even to the same value: after every batch of a load, one more page of
# ix_background_jobs_state_created_at in the commit. It says the state it found; the first report sets it.
_SQLITE_PROGRESS = prepared(
    lambda: _renew_statement(progress=True, with_state=False).returning(_c.cancel_requested, _c.state)
)
_SET_STATE = prepared(
    lambda: update(background_jobs).where(_c.id == bindparam("job_id")).values(state=bindparam("state"))
)


def job_values(job: BackgroundJob) -> dict[str, Any]:
    """The ``background_jobs`` row that records a new job."""
    return {
        "id": job.id,
        "kind": job.kind,
        "params": job.params,
        "state": job.state.value,
        "result": job.result,
        "error": job.error,
        "created_at": to_column(job.created_at) if job.created_at else None,
        "cancel_requested": job.cancel_requested,
        "attempts": job.attempts,
        **_progress_values(job.progress),
    }


def _job(row: RowMapping) -> BackgroundJob:
    return BackgroundJob(
        id=row["id"],
        kind=row["kind"],
        params=row["params"],
        state=JobState(row["state"]),
        progress=JobProgress(row["rows_done"], row["rows_total"], row["percent"], row["counts"] or {}),
        result=row["result"],
        error=row["error"],
        created_at=from_column(row["created_at"]),
        started_at=from_column(row["started_at"]),
        finished_at=from_column(row["finished_at"]),
        cancel_requested=bool(row["cancel_requested"]),
        worker=row["worker"],
        heartbeat_at=from_column(row["heartbeat_at"]),
        attempts=row["attempts"],
    )


def unfinished_statement(kinds: Collection[str] | None = None) -> Select[Any]:
    query = select(background_jobs).where(_c.state.not_in(_FINISHED))
    if kinds is not None:
        query = query.where(_c.kind.in_(list(kinds)))
    return query.order_by(_c.created_at, _c.id)


class SqlJobRepository(JobRepository):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, job: BackgroundJob) -> None:
        self._conn.execute(insert(background_jobs), [job_values(job)])

    def get(self, job_id: str) -> BackgroundJob | None:
        row = self._conn.execute(select(background_jobs).where(_c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def newest(
        self, *, state: JobState | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[BackgroundJob], int]:
        conditions = []
        if state is not None:
            conditions.append(_c.state == state.value)
        if kind is not None:
            conditions.append(_c.kind == kind)
        where = and_(True, *conditions)
        query = select(background_jobs).where(where).order_by(_c.created_at.desc(), _c.id.desc())
        total = self._conn.execute(select(func.count()).select_from(background_jobs).where(where)).scalar_one()
        rows = self._conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_job(row) for row in rows], int(total)

    def claim(self, job_id: str, worker: str, now: datetime, stale_before: datetime) -> BackgroundJob | None:
        moment = to_column(now)
        claimable = or_(
            _c.state == JobState.PENDING.value,
            and_(
                _c.state.in_(_RUNNING),
                or_(_c.worker == worker, _c.heartbeat_at.is_(None), _c.heartbeat_at < to_column(stale_before)),
            ),
        )
        claimed = self._conn.execute(
            update(background_jobs)
            .where(_c.id == job_id, claimable)
            .values(
                state=JobState.STARTED.value,
                worker=worker,
                heartbeat_at=moment,
                started_at=func.coalesce(_c.started_at, moment),
                attempts=_c.attempts + 1,
            )
        ).rowcount
        return self.get(job_id) if claimed else None

    def report(self, job_id: str, worker: str, now: datetime, progress: JobProgress | None = None) -> Lease:
        values: dict[str, Any] = {"heartbeat_at": to_column(now)}
        if progress is not None:
            values.update(state=JobState.PROGRESS.value, **_progress_values(progress))
        if uses_psycopg(self._conn.dialect):
            # One round trip after every batch of a load, with the batch's writes held back before it.
            if progress is not None:
                values["counts"] = json.dumps(values["counts"])
            bound = [*values.values(), job_id, worker, _RUNNING, job_id]
            found = query(self._conn, _postgres_report(progress is not None), bound)
            return Lease(held=bool(found and found[0][0]), cancel_requested=bool(found and found[0][1]))
        # After every batch of a load: compiled once (``infra/db/prepared.py``).
        dialect = self._conn.dialect
        params = {"job_id": job_id, "worker": worker, "now": values.pop("heartbeat_at"), **values}
        if progress is not None and dialect.name == "sqlite":
            state = params.pop("state")
            renewed = _SQLITE_PROGRESS(dialect).run(self._conn, params).first()
            if renewed is None:
                return Lease(held=False, cancel_requested=False)
            if renewed.state != state:
                _SET_STATE(dialect).run(self._conn, {"job_id": job_id, "state": state})
            return Lease(held=True, cancel_requested=bool(renewed.cancel_requested))
        if dialect.update_returning:
            statement = _RENEW_WITH_PROGRESS_RETURNING(dialect) if progress is not None else _RENEW_RETURNING(dialect)
            renewed = statement.run(self._conn, params).first()
            # Not renewed: the lease is lost, whether or not the job was also cancelled.
            return Lease(held=renewed is not None, cancel_requested=bool(renewed and renewed[0]))
        statement = _RENEW_WITH_PROGRESS(dialect) if progress is not None else _RENEW(dialect)
        held = statement.run(self._conn, params).rowcount == 1
        cancel = _CANCEL_REQUESTED(dialect).run(self._conn, {"job_id": job_id}).scalar()
        return Lease(held=held, cancel_requested=bool(cancel))

    def finish(
        self,
        job_id: str,
        state: JobState,
        now: datetime,
        *,
        worker: str | None = None,
        progress: JobProgress | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        condition = and_(_c.id == job_id, _c.state.not_in(_FINISHED))
        if worker is not None:
            condition = and_(condition, _c.worker == worker)
        values: dict[str, Any] = {"state": state.value, "finished_at": to_column(now), "result": result, "error": error}
        if progress is not None:
            values.update(_progress_values(progress))
        return self._conn.execute(update(background_jobs).where(condition).values(**values)).rowcount == 1

    def request_cancel(self, job_id: str, now: datetime) -> BackgroundJob | None:
        self._conn.execute(
            update(background_jobs)
            .where(_c.id == job_id, _c.state == JobState.PENDING.value)
            .values(state=JobState.CANCELLED.value, cancel_requested=True, finished_at=to_column(now))
        )
        self._conn.execute(
            update(background_jobs).where(_c.id == job_id, _c.state.in_(_RUNNING)).values(cancel_requested=True)
        )
        return self.get(job_id)

    def stale(self, stale_before: datetime) -> list[BackgroundJob]:
        return self._select(_stale(stale_before))

    def unclaimed(self, queued_before: datetime) -> list[BackgroundJob]:
        return self._select(_unclaimed(queued_before))

    def requeue(self, job_id: str, now: datetime, *, stale_before: datetime, queued_before: datetime) -> bool:
        changed = self._conn.execute(
            update(background_jobs)
            .where(_c.id == job_id, or_(_stale(stale_before), _unclaimed(queued_before)))
            .values(state=JobState.PENDING.value, worker=None, heartbeat_at=to_column(now))
        ).rowcount
        return changed == 1

    def hold(self, job_id: str, now: datetime) -> Lease:
        # Writing first takes the row lock (on SQLite, the write lock) before anything is read.
        unfinished = and_(_c.id == job_id, _c.state.not_in(_FINISHED))
        held = (
            self._conn.execute(update(background_jobs).where(unfinished).values(heartbeat_at=to_column(now))).rowcount
            == 1
        )
        cancel = self._conn.execute(select(_c.cancel_requested).where(_c.id == job_id)).scalar()
        return Lease(held=held, cancel_requested=bool(cancel))

    def set_progress(self, job_id: str, progress: JobProgress) -> None:
        self._conn.execute(
            update(background_jobs)
            .where(_c.id == job_id, _c.state.not_in(_FINISHED))
            .values(state=JobState.PROGRESS.value, **_progress_values(progress))
        )

    def take_turn(self) -> None:
        dialect = self._conn.dialect.name
        if dialect == "sqlite":
            self._conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            self._conn.execute(select(func.pg_advisory_xact_lock(ADMISSION_LOCK)))
        elif dialect == "mssql":
            self._conn.exec_driver_sql(MSSQL_ADMISSION_LOCK)
        else:
            raise NotImplementedError(f"no admission lock for {dialect}")

    def unfinished(self, kinds: Collection[str] | None = None) -> list[BackgroundJob]:
        return [_job(row) for row in self._conn.execute(unfinished_statement(kinds)).mappings()]

    def _select(self, condition: ColumnElement[bool]) -> list[BackgroundJob]:
        query = select(background_jobs).where(condition).order_by(_c.created_at)
        return [_job(row) for row in self._conn.execute(query).mappings()]


def _stale(stale_before: datetime) -> ColumnElement[bool]:
    return and_(_c.state.in_(_RUNNING), or_(_c.heartbeat_at.is_(None), _c.heartbeat_at < to_column(stale_before)))


def _unclaimed(queued_before: datetime) -> ColumnElement[bool]:
    queued = func.coalesce(_c.heartbeat_at, _c.created_at)
    return and_(_c.state == JobState.PENDING.value, queued < to_column(queued_before))
