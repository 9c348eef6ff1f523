"""The worker's tasks: run one recorded job, idempotently, waiting a while when the database is down;
and the scheduled backup, which records a ``backup`` job like any other and queues it.

A job task is named for its kind (``hireflow.ingest``, ``hireflow.restore``…) and ends in the state its
job ended in, so that Flower and the result backend show what ``/task-status`` shows: a job that ended
``FAILURE`` raises ``JobFailed`` once the failure is recorded; one that ended ``CANCELLED`` is recorded
``REVOKED``, the state Celery gives a task stopped on request. Anything else (the job runs on another
worker, waits for the database, or was handed to parts) returns what the runner said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from celery import Celery, Task
from celery.exceptions import Ignore

from core.backup.submit import submit_scheduled_backup
from core.config import Settings
from core.jobs.ports import JobQueue
from core.jobs.runner import JobHandlers, RunOutcome, handle_delivery
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import BackgroundJob, JobState
from infra.broker.celery_app import JOB_TASKS, RUN_JOB_TASK, SCHEDULED_BACKUP_TASK
from infra.failures import TRANSIENT, explain_failure, worker_id

log = logging.getLogger("hireflow.worker")


class JobFailed(Exception):
    """Raised by a job task whose job ended ``FAILURE``, after the failure is recorded, so Celery records it too."""


class WorkerServices(Protocol):
    """What the tasks use of this process's composition root (``bootstrap.Services``)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> UnitOfWorkFactory: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def handlers(self) -> JobHandlers: ...


def register_tasks(app: Celery, services: Callable[[], WorkerServices]) -> None:
    """Add the tasks to ``app`` alone; ``services()`` gives this process's composition root.

    ``shared=False``: Celery would otherwise add each task to every app made later in the
    process too, still bound to the first ``services``.
    """

    def run_job_task(task: Task, job_id: str) -> str:
        found = services()
        outcome = handle_delivery(
            found.database,
            found.handlers,
            job_id,
            worker=worker_id(),
            lease_seconds=found.settings.job_lease_seconds,
            transient=TRANSIENT,
            explain=explain_failure,
        )
        if outcome is RunOutcome.BUSY:
            log.info("task %s is running on another worker; this copy of its message is dropped", job_id)
            return outcome.value
        log.debug("task %s: %s", job_id, outcome.value)
        if outcome in (RunOutcome.FINISHED, RunOutcome.ALREADY_FINISHED):
            end_as_job(task, finished_job(found.database, job_id))
        return outcome.value

    def scheduled_backup_task() -> str:
        found = services()
        job = submit_scheduled_backup(found.database, found.queue, found.settings.backup_retention)
        log.info("scheduled backup: task %s queued (keeping the newest %s)", job.id, found.settings.backup_retention)
        return job.id

    # Never retried through Celery: a retry is a new message that Redis could hand out twice. A job
    # that cannot run now (database down) or runs elsewhere is left to the sweeps of our job table.
    # A task that raises is acknowledged (``acks_on_failure``), so a failed job is never run again;
    # ``throws`` makes Celery log that expected failure in one line: the runner logged the reason.
    for name in (*JOB_TASKS.values(), RUN_JOB_TASK):
        app.task(
            name=name,
            bind=True,
            shared=False,
            acks_late=True,
            acks_on_failure=True,
            reject_on_worker_lost=True,
            ignore_result=False,
            max_retries=0,
            throws=(JobFailed,),
        )(run_job_task)
    app.task(name=SCHEDULED_BACKUP_TASK, shared=False, ignore_result=True)(scheduled_backup_task)


def finished_job(database: UnitOfWorkFactory, job_id: str) -> BackgroundJob | None:
    """The job as its runner left it; ``None`` if the database cannot say (its state is recorded already)."""
    try:
        with database() as tx:
            return tx.jobs.get(job_id)
    except TRANSIENT:
        return None


def end_as_job(task: Task, job: BackgroundJob | None) -> None:
    """Give the Celery task the state its job ended in: raise on ``FAILURE``, record ``REVOKED`` on ``CANCELLED``."""
    if job is None or job.state is JobState.SUCCESS:
        return
    if job.state is JobState.FAILURE:
        raise JobFailed(f"{job.kind} task {job.id} failed: {job.error or 'no reason recorded'}")
    if job.state is JobState.CANCELLED:
        task.backend.mark_as_revoked(job.id, "cancelled", request=task.request)
        if task.app.conf.worker_send_task_events:
            task.send_event("task-revoked", terminated=False, signum=None, expired=False)
        raise Ignore()
