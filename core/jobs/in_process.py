"""A queue for a command-line run: the jobs it is handed run here, in this process, through the worker's runner.

``python main.py migrate`` submits its job like the API does (recorded ``PENDING``, visible in ``/task-list``)
and then runs it itself: the same claim, lease, heartbeat, checkpoints and outcome as on a worker, without one.
"""

from __future__ import annotations

from collections import deque
from typing import Unpack

from core.jobs.ports import JobQueue
from core.jobs.runner import JobHandlers, RunOptions, RunOutcome, handle_delivery
from core.unit_of_work import UnitOfWorkFactory


class InProcessQueue(JobQueue):
    """Keeps the jobs it is given until ``run_queued`` runs them, oldest first (child jobs included)."""

    def __init__(self) -> None:
        self.queued: deque[str] = deque()

    def enqueue(self, job_id: str, kind: str | None = None) -> None:
        self.queued.append(job_id)

    def check(self) -> None:
        return None

    def waiting(self) -> int:
        return len(self.queued)

    def close(self) -> None:
        self.queued.clear()

    def run_queued(
        self,
        uow: UnitOfWorkFactory,
        handlers: JobHandlers,
        **options: Unpack[RunOptions],
    ) -> list[RunOutcome]:
        """Run every job queued so far, and those they queue in turn; the outcome of each."""
        outcomes = []
        while self.queued:
            outcomes.append(handle_delivery(uow, handlers, self.queued.popleft(), **options))
        return outcomes
