"""Ports: what the use cases need from the outside world, as abstract classes."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from domain.background_jobs import BackgroundJob, JobProgress, JobState, Lease
from domain.loads import Checkpoint, RejectedRow


class WriteConflict(Exception):
    """Another writer changed the rows this batch checked; the batch can be retried."""


class BatchTransaction(abc.ABC):
    """One database transaction for one batch. Nothing is kept unless ``commit()`` is called."""

    @abc.abstractmethod
    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """The stored rows among ``ids``, keyed by id, as tuples in column order."""

    @abc.abstractmethod
    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are stored in ``table``."""

    @abc.abstractmethod
    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new rows in column order, through the database's fastest safe bulk path."""

    @abc.abstractmethod
    def log_rejections(self, rejections: Sequence[RejectedRow]) -> None:
        """Record rows that were refused, with their reasons."""

    @abc.abstractmethod
    def save_checkpoint(self, job_id: str, table: str, checkpoint: Checkpoint) -> None:
        """Remember, in this same transaction, how far the job got."""

    @abc.abstractmethod
    def commit(self) -> None: ...


class HiringStore(abc.ABC):
    """The SQL database that holds the hiring tables."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[BatchTransaction]:
        """A new batch transaction; it rolls back on exit unless committed."""

    @abc.abstractmethod
    def load_checkpoint(self, job_id: str, table: str) -> Checkpoint | None: ...

    @abc.abstractmethod
    def rejections(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Rejected rows logged by a job, oldest first."""

    @abc.abstractmethod
    def count_rows(self, table: str) -> int: ...

    @abc.abstractmethod
    def check(self) -> None:
        """Raise ``Unavailable`` if the database cannot be reached."""


class JobStore(abc.ABC):
    """Where jobs, their progress and their outcome are recorded; the source of truth for ``/task-status``."""

    @abc.abstractmethod
    def add(self, job: BackgroundJob) -> None: ...

    def add_all(self, jobs: Sequence[BackgroundJob]) -> None:
        """Record several jobs together; adapters with transactions record all of them or none."""
        for job in jobs:
            self.add(job)

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
        """Renew the worker's lease and, with ``progress``, record it (state PROGRESS), in a transaction of its own."""

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


PartsProgress = Callable[[dict[str, dict[str, int]]], JobProgress]


class SplitJobs(abc.ABC):
    """A job whose source is loaded in parts by child jobs, each part with a checkpoint of its own."""

    @abc.abstractmethod
    def record_progress(
        self, parent_id: str, table: str, keys: Sequence[str], progress: PartsProgress, now: datetime
    ) -> Lease:
        """In one transaction that holds the parent's row: add up the parent's checkpoints ``keys``, put
        the sum in the parent's counts under ``table`` and record ``progress(counts)`` (state PROGRESS).

        Nothing is written once the parent finished. The lease says whether the parent still runs, and
        whether it was asked to stop.
        """


class JobQueue(abc.ABC):
    """Hands a recorded job to the workers."""

    @abc.abstractmethod
    def enqueue(self, job_id: str) -> None:
        """Raise ``Unavailable`` if the broker cannot take it."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise ``Unavailable`` if the broker cannot be reached."""

    @abc.abstractmethod
    def waiting(self) -> int:
        """How many messages wait in the queue for a worker; raise ``Unavailable`` if the broker cannot be reached."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the broker connections this process holds."""
