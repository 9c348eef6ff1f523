"""Hand-written fakes of our job ports, and views through which tests set up and look at jobs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from core.jobs.ports import JobQueue, JobRepository
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import FINISHED_STATES, RUNNING_STATES, BackgroundJob, JobProgress, JobState, Lease
from domain.errors import Unavailable

_LONG_AGO = datetime.min.replace(tzinfo=UTC)


class FakeJobQueue(JobQueue):
    """Keeps the queued ids in a list; nothing runs until a test runs it."""

    def __init__(self, broken: bool = False) -> None:
        self.queued: list[str] = []
        self.broken = broken
        # How many messages the broker says wait in its queue; tests set it.
        self.waiting_messages = 0

    def enqueue(self, job_id: str, kind: str | None = None) -> None:
        if self.broken:
            raise Unavailable("the broker cannot be reached")
        self.queued.append(job_id)

    def check(self) -> None:
        if self.broken:
            raise Unavailable("the broker cannot be reached")

    def waiting(self) -> int:
        self.check()
        return self.waiting_messages

    def close(self) -> None:
        pass


class FakeJobRepository(JobRepository):
    """The jobs of one fake unit of work: a copy of the committed ones, and the progress reports it made."""

    def __init__(self, jobs: dict[str, BackgroundJob], take_turn: Callable[[], None]) -> None:
        self.jobs = jobs
        self.reports: list[tuple[str, JobProgress | None]] = []
        self._take_turn = take_turn

    def add(self, job: BackgroundJob) -> None:
        self.jobs[job.id] = dataclasses.replace(job)

    def get(self, job_id: str) -> BackgroundJob | None:
        job = self.jobs.get(job_id)
        return dataclasses.replace(job) if job else None

    def newest(
        self, *, state: JobState | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[BackgroundJob], int]:
        found = [
            job
            for job in self.jobs.values()
            if (state is None or job.state == state) and (kind is None or job.kind == kind)
        ]
        found.sort(key=lambda job: job.created_at or _LONG_AGO, reverse=True)
        return [dataclasses.replace(job) for job in found[offset : offset + limit]], len(found)

    def claim(self, job_id: str, worker: str, now: datetime, stale_before: datetime) -> BackgroundJob | None:
        job = self.jobs.get(job_id)
        if job is None or job.finished:
            return None
        if job.state in RUNNING_STATES and job.worker != worker:
            if job.heartbeat_at is not None and job.heartbeat_at >= stale_before:
                return None
        job.state = JobState.STARTED
        job.worker = worker
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.attempts += 1
        return dataclasses.replace(job)

    def report(self, job_id: str, worker: str, now: datetime, progress: JobProgress | None = None) -> Lease:
        job = self.jobs[job_id]
        self.reports.append((job_id, progress))
        held = job.worker == worker and job.state in RUNNING_STATES
        if held:
            job.heartbeat_at = now
            if progress is not None:
                job.state = JobState.PROGRESS
                job.progress = progress
        return Lease(held=held, cancel_requested=job.cancel_requested)

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
        job = self.jobs[job_id]
        if job.state in FINISHED_STATES or (worker is not None and job.worker != worker):
            return False
        job.state, job.finished_at, job.result, job.error = state, now, result, error
        if progress is not None:
            job.progress = progress
        return True

    def request_cancel(self, job_id: str, now: datetime) -> BackgroundJob | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        if job.state == JobState.PENDING:
            job.state, job.finished_at, job.cancel_requested = JobState.CANCELLED, now, True
        elif job.state in RUNNING_STATES:
            job.cancel_requested = True
        return dataclasses.replace(job)

    def stale(self, stale_before: datetime) -> list[BackgroundJob]:
        return [dataclasses.replace(job) for job in self.jobs.values() if _stale(job, stale_before)]

    def unclaimed(self, queued_before: datetime) -> list[BackgroundJob]:
        return [dataclasses.replace(job) for job in self.jobs.values() if _unclaimed(job, queued_before)]

    def requeue(self, job_id: str, now: datetime, *, stale_before: datetime, queued_before: datetime) -> bool:
        job = self.jobs.get(job_id)
        if job is None or not (_stale(job, stale_before) or _unclaimed(job, queued_before)):
            return False
        job.state, job.worker, job.heartbeat_at = JobState.PENDING, None, now
        return True

    def hold(self, job_id: str, now: datetime) -> Lease:
        job = self.jobs.get(job_id)
        if job is None or job.finished:
            return Lease(held=False, cancel_requested=bool(job and job.cancel_requested))
        job.heartbeat_at = now
        return Lease(held=True, cancel_requested=job.cancel_requested)

    def set_progress(self, job_id: str, progress: JobProgress) -> None:
        job = self.jobs.get(job_id)
        if job is not None and not job.finished:
            job.state, job.progress = JobState.PROGRESS, progress

    def take_turn(self) -> None:
        self._take_turn()

    def unfinished(self, kinds: Collection[str] | None = None) -> list[BackgroundJob]:
        found = [job for job in self.jobs.values() if not job.finished and (kinds is None or job.kind in kinds)]
        found.sort(key=lambda job: (job.created_at or _LONG_AGO, job.id))
        return [dataclasses.replace(job) for job in found]


def _stale(job: BackgroundJob, stale_before: datetime) -> bool:
    return job.state in RUNNING_STATES and (job.heartbeat_at is None or job.heartbeat_at < stale_before)


def _unclaimed(job: BackgroundJob, queued_before: datetime) -> bool:
    queued = job.heartbeat_at or job.created_at
    return job.state == JobState.PENDING and queued is not None and queued < queued_before


class CommittedJobs:
    """The job repository, each call in a unit of work of its own that commits: how tests set up and read jobs."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._uow() as tx:
                result = getattr(tx.jobs, name)(*args, **kwargs)
                tx.commit()
            return result

        return call
