"""Submit a job, look one up, list them, cancel one. A job is recorded PENDING before it is queued,
so an unknown id is always a 404."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.clock import Clock, utcnow
from core.jobs.exclusion import admit
from core.jobs.ports import JobQueue
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import BackgroundJob, JobState
from domain.commands import JOB_KINDS, JobCommand
from domain.errors import InvalidRequest, JobFinished, NotFound, Unavailable

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class JobPage:
    items: list[BackgroundJob]
    total: int
    page: int
    per_page: int


def new_job_id() -> str:
    return str(uuid.uuid4())


def submit_job(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    command: JobCommand,
    *,
    job_id: str | None = None,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Record the job PENDING, then queue it. ``TableBusy`` if a job in its way is unfinished (see
    ``core.jobs.exclusion``). If the broker refuses it, the job fails and ``Unavailable`` is raised."""
    if command.kind not in JOB_KINDS:
        raise InvalidRequest(f"unknown job kind {command.kind!r}", {"accepted": list(JOB_KINDS)})
    job = BackgroundJob(id=job_id or new_job_id(), kind=command.kind, params=command.to_params(), created_at=now())
    with uow() as tx:
        admit(tx, job)
        tx.commit()
    try:
        queue.enqueue(job.id, job.kind)
    except Unavailable as error:
        with uow() as tx:
            tx.jobs.finish(job.id, JobState.FAILURE, now(), error=f"the job could not be queued: {error.message}")
            tx.commit()
        raise
    return job


def get_job(uow: UnitOfWorkFactory, job_id: str) -> BackgroundJob:
    with uow() as tx:
        job = tx.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no task with id {job_id!r}", {"task_id": job_id})
    return job


def list_jobs(
    uow: UnitOfWorkFactory,
    *,
    state: JobState | None = None,
    kind: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> JobPage:
    """Jobs newest first, optionally only one state or kind, one page at a time."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidRequest(f"page starts at 1 and per_page is 1 to {MAX_PER_PAGE}")
    with uow() as tx:
        items, total = tx.jobs.newest(state=state, kind=kind, limit=per_page, offset=(page - 1) * per_page)
    return JobPage(items, total, page, per_page)


def cancel_job(uow: UnitOfWorkFactory, job_id: str, now: Clock = utcnow) -> BackgroundJob:
    """A pending job is cancelled at once; a running one stops between two batches. A finished job
    (cancelled before included) stays as it is and ``JobFinished`` is raised."""
    job = get_job(uow, job_id)
    if not job.finished:
        with uow() as tx:
            job = tx.jobs.request_cancel(job_id, now()) or job
            tx.commit()
        if job.state not in (JobState.SUCCESS, JobState.FAILURE):
            return job
    raise JobFinished(f"task {job_id} already finished with {job.state}", {"state": job.state.value})
