"""A background job (an ingest, a part of one, a backup, a restore) as our own job table records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"


FINISHED_STATES = frozenset({JobState.SUCCESS, JobState.FAILURE, JobState.CANCELLED})
RUNNING_STATES = frozenset({JobState.STARTED, JobState.PROGRESS})


@dataclass(frozen=True)
class JobProgress:
    rows_done: int = 0
    rows_total: int | None = None
    percent: float = 0.0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class BackgroundJob:
    """One background job. ``params`` is its command as stored (see ``domain.commands``); times are aware UTC."""

    id: str
    kind: str
    params: dict[str, Any]
    state: JobState = JobState.PENDING
    progress: JobProgress = field(default_factory=JobProgress)
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False
    worker: str | None = None
    # The worker's last report on a running job; on a pending one, when it was last queued again
    # (None: queued once, at ``created_at``).
    heartbeat_at: datetime | None = None
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


@dataclass(frozen=True)
class Lease:
    """What a worker learns each time it reports on a job it runs."""

    held: bool
    cancel_requested: bool = False


class Cancelled(Exception):
    """The job was cancelled, or its worker lost it; the work stopped between two batches."""


class Deferred(Exception):
    """The job handed its work to child jobs: they will record its outcome."""
