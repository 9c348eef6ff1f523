"""The sweep of stalled jobs, in a thread of each worker's main process: at start, then every ``JOB_SWEEP_SECONDS``."""

from __future__ import annotations

import logging
import threading

from core.config import Settings
from core.jobs.ports import JobQueue
from core.jobs.sweep import sweep_jobs
from core.unit_of_work import UnitOfWorkFactory
from infra.failures import TRANSIENT

log = logging.getLogger("hireflow.worker")


class Sweeper:
    """Calls ``sweep_jobs`` now and then every ``settings.job_sweep_seconds`` until stopped.

    A sweep that fails (database or broker down) is logged in one line, and the next one tries again.
    """

    def __init__(self, uow: UnitOfWorkFactory, queue: JobQueue, settings: Settings) -> None:
        self.uow = uow
        self.queue = queue
        self.settings = settings
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hireflow-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def sweep(self) -> list[str]:
        try:
            requeued = sweep_jobs(
                self.uow,
                self.queue,
                lease_seconds=self.settings.job_lease_seconds,
                pending_seconds=self.settings.job_pending_requeue_seconds,
            )
        except TRANSIENT as error:
            log.warning(
                "the sweep of stalled tasks failed (%s); trying again in %ss",
                type(error).__name__,
                self.settings.job_sweep_seconds,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return []
        except Exception:  # noqa: BLE001 - the sweeps must go on; the next one tries again
            log.exception("the sweep of stalled tasks failed; trying again in %ss", self.settings.job_sweep_seconds)
            return []
        if requeued:
            log.warning("queued again %d stalled task(s): %s", len(requeued), ", ".join(requeued))
        return requeued

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.sweep()
            self._stopped.wait(self.settings.job_sweep_seconds)
