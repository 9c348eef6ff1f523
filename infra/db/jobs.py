"""``SqlJobStore``: background jobs in the ``background_jobs`` table; every call is its own short transaction.

``SqlSplitJobs``: the progress of a job split in parts, summed from the parts' checkpoints onto the parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, insert, or_, select, update

from core.ports import JobStore, PartsProgress, SplitJobs
from domain.background_jobs import FINISHED_STATES, RUNNING_STATES, BackgroundJob, JobProgress, JobState, Lease
from domain.loads import COUNT_FIELDS
from infra.db.engine import connect
from infra.db.schema import background_jobs, ingest_checkpoints
from infra.db.utc import from_column, to_column

_c = background_jobs.c
_RUNNING = [state.value for state in RUNNING_STATES]
_FINISHED = [state.value for state in FINISHED_STATES]


def _progress_values(progress: JobProgress) -> dict[str, Any]:
    return {
        "rows_done": progress.rows_done,
        "rows_total": progress.rows_total,
        "percent": progress.percent,
        "counts": progress.counts,
    }


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


def _job(row: Mapping[str, Any]) -> BackgroundJob:
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


class SqlJobStore(JobStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, job: BackgroundJob) -> None:
        self.add_all([job])

    def add_all(self, jobs: Sequence[BackgroundJob]) -> None:
        with connect(self.engine) as conn:
            conn.execute(insert(background_jobs), [job_values(job) for job in jobs])
            conn.commit()

    def get(self, job_id: str) -> BackgroundJob | None:
        with connect(self.engine) as conn:
            row = conn.execute(select(background_jobs).where(_c.id == job_id)).mappings().first()
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
        with connect(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(background_jobs).where(where)).scalar_one()
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_job(row) for row in rows], int(total)

    def claim(self, job_id: str, worker: str, now: datetime, stale_before: datetime) -> BackgroundJob | None:
        now, stale_before = to_column(now), to_column(stale_before)
        claimable = or_(
            _c.state == JobState.PENDING.value,
            and_(
                _c.state.in_(_RUNNING),
                or_(_c.worker == worker, _c.heartbeat_at.is_(None), _c.heartbeat_at < stale_before),
            ),
        )
        with connect(self.engine) as conn:
            claimed = conn.execute(
                update(background_jobs)
                .where(_c.id == job_id, claimable)
                .values(
                    state=JobState.STARTED.value,
                    worker=worker,
                    heartbeat_at=now,
                    started_at=func.coalesce(_c.started_at, now),
                    attempts=_c.attempts + 1,
                )
            ).rowcount
            row = conn.execute(select(background_jobs).where(_c.id == job_id)).mappings().first() if claimed else None
            conn.commit()
        return _job(row) if row else None

    def report(self, job_id: str, worker: str, now: datetime, progress: JobProgress | None = None) -> Lease:
        values: dict[str, Any] = {"heartbeat_at": to_column(now)}
        if progress is not None:
            values.update(state=JobState.PROGRESS.value, **_progress_values(progress))
        mine = and_(_c.id == job_id, _c.worker == worker, _c.state.in_(_RUNNING))
        with connect(self.engine) as conn:
            held = conn.execute(update(background_jobs).where(mine).values(**values)).rowcount == 1
            cancel = conn.execute(select(_c.cancel_requested).where(_c.id == job_id)).scalar()
            conn.commit()
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
        with connect(self.engine) as conn:
            changed = conn.execute(update(background_jobs).where(condition).values(**values)).rowcount
            conn.commit()
        return changed == 1

    def request_cancel(self, job_id: str, now: datetime) -> BackgroundJob | None:
        with connect(self.engine) as conn:
            conn.execute(
                update(background_jobs)
                .where(_c.id == job_id, _c.state == JobState.PENDING.value)
                .values(state=JobState.CANCELLED.value, cancel_requested=True, finished_at=to_column(now))
            )
            conn.execute(
                update(background_jobs).where(_c.id == job_id, _c.state.in_(_RUNNING)).values(cancel_requested=True)
            )
            row = conn.execute(select(background_jobs).where(_c.id == job_id)).mappings().first()
            conn.commit()
        return _job(row) if row else None

    def stale(self, stale_before: datetime) -> list[BackgroundJob]:
        return self._select(_stale(stale_before))

    def unclaimed(self, queued_before: datetime) -> list[BackgroundJob]:
        return self._select(_unclaimed(queued_before))

    def requeue(self, job_id: str, now: datetime, *, stale_before: datetime, queued_before: datetime) -> bool:
        now = to_column(now)
        with connect(self.engine) as conn:
            changed = conn.execute(
                update(background_jobs)
                .where(_c.id == job_id, or_(_stale(stale_before), _unclaimed(queued_before)))
                .values(state=JobState.PENDING.value, worker=None, heartbeat_at=now)
            ).rowcount
            conn.commit()
        return changed == 1

    def _select(self, condition: ColumnElement[bool]) -> list[BackgroundJob]:
        query = select(background_jobs).where(condition).order_by(_c.created_at)
        with connect(self.engine) as conn:
            return [_job(row) for row in conn.execute(query).mappings().all()]


def _stale(stale_before: datetime) -> ColumnElement[bool]:
    return and_(_c.state.in_(_RUNNING), or_(_c.heartbeat_at.is_(None), _c.heartbeat_at < to_column(stale_before)))


def _unclaimed(queued_before: datetime) -> ColumnElement[bool]:
    return and_(
        _c.state == JobState.PENDING.value, func.coalesce(_c.heartbeat_at, _c.created_at) < to_column(queued_before)
    )


class SqlSplitJobs(SplitJobs):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_progress(
        self, parent_id: str, table: str, keys: Sequence[str], progress: PartsProgress, now: datetime
    ) -> Lease:
        unfinished = and_(_c.id == parent_id, _c.state.not_in(_FINISHED))
        ck = ingest_checkpoints.c
        sums = select(*(func.coalesce(func.sum(ck[name]), 0) for name in COUNT_FIELDS)).where(
            ck.job_id == parent_id, ck.table_name.in_(list(keys))
        )
        with connect(self.engine) as conn:
            # Writing first takes the parent's row lock (on SQLite, the write lock) before anything is
            # read: parts record one at a time, each summing every checkpoint committed before it, so
            # the parent's counts never go back.
            held = (
                conn.execute(update(background_jobs).where(unfinished).values(heartbeat_at=to_column(now))).rowcount
                == 1
            )
            row = conn.execute(select(_c.counts, _c.cancel_requested).where(_c.id == parent_id)).first()
            if held and row is not None:
                counts = dict(row.counts or {})
                counts[table] = dict(zip(COUNT_FIELDS, map(int, conn.execute(sums).one()), strict=True))
                summed = progress(counts)
                conn.execute(
                    update(background_jobs)
                    .where(_c.id == parent_id)
                    .values(state=JobState.PROGRESS.value, **_progress_values(summed))
                )
            conn.commit()
        return Lease(held=held, cancel_requested=bool(row and row.cancel_requested))
