"""The worker's tasks: run one recorded job, idempotently, waiting a while when the database is down;
and the scheduled backup, which records a ``backup`` job like any other and queues it."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Protocol

from celery import Celery
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from core.backup.submit import submit_scheduled_backup
from core.config import Settings
from core.jobs.ports import JobQueue
from core.jobs.runner import JobHandlers, RunOutcome, handle_delivery
from core.unit_of_work import UnitOfWorkFactory
from domain.errors import Unavailable
from infra.broker.celery_app import RUN_JOB_TASK, SCHEDULED_BACKUP_TASK

TRANSIENT = (Unavailable, OperationalError, InterfaceError)

log = logging.getLogger("hireflow.worker")


def explain_failure(error: Exception) -> str | None:
    """What a reader of ``/task-status`` may know of a database error: what happened, not its text."""
    if isinstance(error, IntegrityError):
        return "the database refused a write that broke one of its rules (a duplicate key or a missing reference)"
    if isinstance(error, DataError):
        return "the database refused a value it cannot store"
    if isinstance(error, DBAPIError):
        return "the database failed while running the task"
    return None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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

    def run_job_task(job_id: str) -> str:
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
        else:
            log.info("task %s: %s", job_id, outcome.value)
        return outcome.value

    def scheduled_backup_task() -> str:
        found = services()
        job = submit_scheduled_backup(found.database, found.queue, found.settings.backup_retention)
        log.info("scheduled backup: task %s queued (keeping the newest %s)", job.id, found.settings.backup_retention)
        return job.id

    # Never retried through Celery: a retry is a new message that Redis could hand out twice. A job
    # that cannot run now (database down) or runs elsewhere is left to the sweeps of our job table.
    app.task(name=RUN_JOB_TASK, shared=False, acks_late=True, reject_on_worker_lost=True)(run_job_task)
    app.task(name=SCHEDULED_BACKUP_TASK, shared=False, ignore_result=True)(scheduled_backup_task)
