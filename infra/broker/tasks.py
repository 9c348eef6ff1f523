"""The worker's tasks: run one recorded job, idempotently, retrying while the database is down; and
the scheduled backup, which records a ``backup`` job like any other and queues it."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from sqlalchemy.exc import InterfaceError, OperationalError

from core.backup_jobs import submit_scheduled_backup
from core.jobs import RunOutcome, recover_jobs, run_job
from domain.errors import Unavailable
from infra.broker.celery_app import RECOVER_JOBS_TASK, RUN_JOB_TASK, SCHEDULED_BACKUP_TASK

TRANSIENT = (Unavailable, OperationalError, InterfaceError)
MAX_DATABASE_RETRIES = 20
MAX_BACKOFF_SECONDS = 60

log = logging.getLogger("hireflow.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def register_tasks(app: Celery, services: Callable[[], Any]) -> None:
    """Add the tasks to ``app`` alone; ``services()`` gives this process's composition root.

    ``shared=False``: Celery would otherwise add each task to every app made later in the
    process too, still bound to the first ``services``.
    """

    @app.task(bind=True, name=RUN_JOB_TASK, shared=False, acks_late=True, reject_on_worker_lost=True, max_retries=None)
    def run_job_task(self: Task, job_id: str) -> str:  # type: ignore[type-arg]
        found = services()
        lease = found.settings.job_lease_seconds
        try:
            outcome = run_job(
                found.jobs, found.job_kinds, found, job_id, worker=worker_id(), lease_seconds=lease, transient=TRANSIENT
            )
        except TRANSIENT as error:
            attempt = self.request.retries
            if attempt >= MAX_DATABASE_RETRIES:
                raise
            delay = min(MAX_BACKOFF_SECONDS, 2**attempt)
            log.warning("task %s: database unavailable (%s); retrying in %ss", job_id, type(error).__name__, delay)
            raise self.retry(countdown=delay) from None
        if outcome is RunOutcome.BUSY:
            log.info("task %s is running on another worker; looking again in %ss", job_id, lease)
            raise self.retry(countdown=lease)
        log.info("task %s: %s", job_id, outcome.value)
        return outcome.value

    @app.task(name=SCHEDULED_BACKUP_TASK, shared=False, ignore_result=True)
    def scheduled_backup_task() -> str:
        found = services()
        job = submit_scheduled_backup(found.jobs, found.queue, found.settings.backup_retention)
        log.info("scheduled backup: task %s queued (keeping the newest %s)", job.id, found.settings.backup_retention)
        return job.id

    @app.task(name=RECOVER_JOBS_TASK, shared=False, ignore_result=True)
    def recover_jobs_task() -> list[str]:
        found = services()
        recovered = recover_jobs(found.jobs, found.queue, found.settings.job_lease_seconds)
        if recovered:
            log.info("queued again %d task(s) whose worker stopped: %s", len(recovered), ", ".join(recovered))
        return recovered
