"""What running background jobs needs: the job repository of a unit of work, and the queue to the workers."""

from __future__ import annotations

import abc
from collections.abc import Collection
from datetime import datetime
from typing import Any

from domain.background_jobs import BackgroundJob, JobProgress, JobState, Lease


class JobRepository(abc.ABC):
    """The background jobs, read and written in the unit of work's transaction; the truth behind ``/task-status``."""

    @abc.abstractmethod
    def add(self, job: BackgroundJob) -> None: ...

    @abc.abstractmethod
    def get(self, job_id: str) -> BackgroundJob | None: ...

    @abc.abstractmethod
    def newest(
        self, *, state: JobState | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[BackgroundJob], int]:
        """One page of jobs, newest first, and how many match in all."""

    @abc.abstractmethod
    def claim(self, job_id: str, worker: str, now: datetime, stale_before: datetime) -> BackgroundJob | None:
        """Take the job for ``worker`` if it is pending, already held by ``worker``, or its lease went stale
        (last heartbeat before ``stale_before``); mark it STARTED. None if it is finished, missing, or held."""

    @abc.abstractmethod
    def report(self, job_id: str, worker: str, now: datetime, progress: JobProgress | None = None) -> Lease:
        """Renew the worker's lease and, with ``progress``, record it (state PROGRESS)."""

    @abc.abstractmethod
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
        """Record the outcome of an unfinished job (only while ``worker``, if given, holds it); False otherwise."""

    @abc.abstractmethod
    def request_cancel(self, job_id: str, now: datetime) -> BackgroundJob | None:
        """Cancel a pending job at once, or flag a running one so its worker stops between batches."""

    @abc.abstractmethod
    def stale(self, stale_before: datetime) -> list[BackgroundJob]:
        """Running jobs whose worker has not reported since ``stale_before``."""

    @abc.abstractmethod
    def unclaimed(self, queued_before: datetime) -> list[BackgroundJob]:
        """Pending jobs queued (or queued again) before ``queued_before`` that no worker has claimed since."""

    @abc.abstractmethod
    def requeue(self, job_id: str, now: datetime, *, stale_before: datetime, queued_before: datetime) -> bool:
        """Hand the job back to the queue if it still qualifies: running with no report since ``stale_before``,
        or pending and queued before ``queued_before``. It becomes PENDING with no worker, queued at ``now``;
        its progress stays. False if it no longer qualifies (another worker's sweep got there first)."""

    @abc.abstractmethod
    def hold(self, job_id: str, now: datetime) -> Lease:
        """Take the row of an unfinished job and renew its heartbeat, whoever runs it: another unit of work that
        holds it waits until this one ends. ``held`` is False once the job finished."""

    @abc.abstractmethod
    def set_progress(self, job_id: str, progress: JobProgress) -> None:
        """Record the progress of an unfinished job (state PROGRESS), whoever runs it."""

    @abc.abstractmethod
    def take_turn(self) -> None:
        """Make submissions take turns: another unit of work that calls this waits until this one ends.
        The first call of a unit of work."""

    @abc.abstractmethod
    def unfinished(self, kinds: Collection[str] | None = None) -> list[BackgroundJob]:
        """The pending and running jobs (of these kinds), oldest first."""


class JobQueue(abc.ABC):
    """Hands a recorded job to the workers."""

    @abc.abstractmethod
    def enqueue(self, job_id: str, kind: str | None = None) -> None:
        """Queue the job ``job_id`` of ``kind`` (which names its message; ``None``: a generic one).
        Raise ``Unavailable`` if the broker cannot take it."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise ``Unavailable`` if the broker cannot be reached."""

    @abc.abstractmethod
    def waiting(self) -> int:
        """How many messages wait in the queue for a worker; raise ``Unavailable`` if the broker cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the broker connections this process holds."""
