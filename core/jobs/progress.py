"""How far a running job got, written to its row in the job table; and the heartbeat that keeps its lease alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core.clock import Clock
from core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.background_jobs import Cancelled, JobProgress, Lease

log = logging.getLogger("hireflow.jobs")

# Told each progress a job records, with the job's id: what a command-line run draws its progress bars from.
Observer = Callable[[str, JobProgress], None]


class ProgressReporter:
    """Given to a job's handler as ``progress``: call it after each step to record how far the job got.

    With ``uow=``, the progress is written in the caller's unit of work and commits with the step's own
    writes (a batch's rows, its rejections, its checkpoint); a worker that lost the job then raises
    ``Cancelled`` there, so nothing of the step commits. Without it, the progress is written in a unit of
    work of its own. Every write renews the worker's lease; ``should_stop()`` says when the job was
    cancelled or the lease lost.
    """

    def __init__(
        self,
        job_id: str,
        worker: str,
        uow: UnitOfWorkFactory,
        now: Clock,
        last: JobProgress | None = None,
        *,
        observe: Observer | None = None,
    ) -> None:
        self.job_id = job_id
        self.worker = worker
        self.last = last or JobProgress()
        self.lease = Lease(held=True)
        self._uow = uow
        self._now = now
        self._observe = observe

    def __call__(
        self,
        rows_done: int,
        rows_total: int | None = None,
        *,
        percent: float | None = None,
        counts: dict[str, dict[str, int]] | None = None,
        uow: UnitOfWork | None = None,
    ) -> None:
        if percent is None:
            percent = 100.0 * rows_done / rows_total if rows_total else 0.0
        progress = JobProgress(rows_done, rows_total, round(min(max(percent, 0.0), 100.0), 2), counts or {})
        if uow is None:
            with self._uow() as tx:
                self.lease = tx.jobs.report(self.job_id, self.worker, self._now(), progress)
                tx.commit()
        else:
            self.lease = uow.jobs.report(self.job_id, self.worker, self._now(), progress)
            if not self.lease.held:
                raise Cancelled()
        self.last = progress
        if self._observe is not None:
            self._observe(self.job_id, progress)

    def finished(self) -> JobProgress:
        """The last progress recorded, at 100%: what a job that succeeded shows."""
        last = self.last
        return JobProgress(last.rows_done, last.rows_total, 100.0, last.counts)

    def beat(self) -> None:
        """Renew the lease, in a unit of work of its own, and learn whether the job was cancelled."""
        with self._uow() as tx:
            self.lease = tx.jobs.report(self.job_id, self.worker, self._now())
            tx.commit()

    def should_stop(self) -> bool:
        return self.lease.cancel_requested or not self.lease.held


class Heartbeat:
    """Calls ``reporter.beat()`` every ``interval`` seconds from a thread of its own, until stopped."""

    def __init__(self, reporter: ProgressReporter, interval: float) -> None:
        self.reporter = reporter
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{reporter.job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.reporter.beat()
            except Exception:  # noqa: BLE001 - a missed heartbeat is retried at the next beat
                log.warning("task %s: heartbeat failed", self.reporter.job_id, exc_info=True)
