"""Background jobs: submit, run, cancel, look up, sweep. Kinds of job plug in through a ``JobKinds`` registry.

A job is recorded PENDING before it is queued, so an unknown id is always a 404. A worker
claims it with a lease that a heartbeat keeps alive; a message delivered twice, or to a
second worker while the first still holds the lease, runs nothing. Our job table, not the
broker, decides what runs again: every worker sweeps it and queues again the jobs whose
worker stopped reporting and the pending jobs whose message was lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.clock import Clock, utcnow
from core.ports import JobQueue, JobStore
from domain.background_jobs import BackgroundJob, Cancelled, Deferred, JobProgress, JobState, Lease
from domain.errors import HireflowError, InvalidRequest, JobFinished, NotFound, Unavailable

JOB_KINDS = ("ingest", "backup", "restore", "ingest_part")
MAX_PER_PAGE = 200
# What a reader sees of an error we did not foresee; the log has the details, under the job's id.
LOG_HINT = "the service log has the details under this task id"
UNEXPECTED_ERROR = f"the task stopped on an unexpected error; {LOG_HINT}"

log = logging.getLogger("hireflow.jobs")

StopCheck = Callable[[], bool]
# Says in plain words what an unforeseen error was (``None``: nothing to say), without its text.
Explain = Callable[[Exception], str | None]


def _nothing_to_say(_error: Exception) -> str | None:
    return None


class ProgressReporter:
    """Given to a job's function as ``progress``: call it after each batch to record how far the job got."""

    def __init__(self, job_id: str, record: Callable[[JobProgress], None]) -> None:
        self.job_id = job_id
        self._record = record
        self.last = JobProgress()

    def __call__(
        self,
        rows_done: int,
        rows_total: int | None = None,
        *,
        percent: float | None = None,
        counts: dict[str, dict[str, int]] | None = None,
    ) -> None:
        if percent is None:
            percent = 100.0 * rows_done / rows_total if rows_total else 0.0
        self.last = JobProgress(rows_done, rows_total, round(min(max(percent, 0.0), 100.0), 2), counts or {})
        self._record(self.last)


JobFunction = Callable[[Any, dict[str, Any], ProgressReporter, StopCheck], dict[str, Any]]
FinishedHook = Callable[[Any, BackgroundJob], None]


class JobKinds:
    """Which function runs each kind of job: ``function(services, params, progress, should_stop) -> result``.

    ``on_finished(services, job)``, if given, runs each time a worker finds or leaves a job of that kind
    finished, after its outcome is recorded; it must be safe to run more than once.
    """

    def __init__(self) -> None:
        self._functions: dict[str, JobFunction] = {}
        self._on_finished: dict[str, FinishedHook] = {}

    def register(self, kind: str, function: JobFunction, *, on_finished: FinishedHook | None = None) -> None:
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}; expected one of {', '.join(JOB_KINDS)}")
        self._functions[kind] = function
        if on_finished is not None:
            self._on_finished[kind] = on_finished

    def function(self, kind: str) -> JobFunction | None:
        return self._functions.get(kind)

    def on_finished(self, kind: str) -> FinishedHook | None:
        return self._on_finished.get(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._functions


@dataclass(frozen=True)
class JobPage:
    items: list[BackgroundJob]
    total: int
    page: int
    per_page: int


class RunOutcome(StrEnum):
    FINISHED = "finished"
    ALREADY_FINISHED = "already_finished"
    BUSY = "busy"
    LEASE_LOST = "lease_lost"
    MISSING = "missing"
    DEFERRED = "deferred"
    UNAVAILABLE = "unavailable"


def new_job_id() -> str:
    return str(uuid.uuid4())


def submit_job(
    jobs: JobStore,
    queue: JobQueue,
    kind: str,
    params: dict[str, Any],
    *,
    job_id: str | None = None,
    now: Clock = utcnow,
    record: Callable[[BackgroundJob], None] | None = None,
) -> BackgroundJob:
    """Record the job PENDING, then queue it. If the broker refuses it, the job fails and ``Unavailable`` is raised."""
    if kind not in JOB_KINDS:
        raise InvalidRequest(f"unknown job kind {kind!r}", {"accepted": list(JOB_KINDS)})
    job = BackgroundJob(id=job_id or new_job_id(), kind=kind, params=params, created_at=now())
    (record or jobs.add)(job)
    try:
        queue.enqueue(job.id)
    except Unavailable as error:
        jobs.finish(job.id, JobState.FAILURE, now(), error=f"the job could not be queued: {error.message}")
        raise
    return job


def get_job(jobs: JobStore, job_id: str) -> BackgroundJob:
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"no task with id {job_id!r}", {"task_id": job_id})
    return job


def list_jobs(
    jobs: JobStore, *, state: JobState | None = None, kind: str | None = None, page: int = 1, per_page: int = 20
) -> JobPage:
    """Jobs newest first, optionally only one state or kind, one page at a time."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidRequest(f"page starts at 1 and per_page is 1 to {MAX_PER_PAGE}")
    items, total = jobs.newest(state=state, kind=kind, limit=per_page, offset=(page - 1) * per_page)
    return JobPage(items, total, page, per_page)


def cancel_job(jobs: JobStore, job_id: str, now: Clock = utcnow) -> BackgroundJob:
    """A pending job is cancelled at once; a running one stops between two batches. A finished job
    (cancelled before included) stays as it is and ``JobFinished`` is raised."""
    job = get_job(jobs, job_id)
    if not job.finished:
        job = jobs.request_cancel(job_id, now()) or job
        if job.state not in (JobState.SUCCESS, JobState.FAILURE):
            return job
    raise JobFinished(f"task {job_id} already finished with {job.state}", {"state": job.state.value})


def sweep_jobs(
    jobs: JobStore, queue: JobQueue, *, lease_seconds: int, pending_seconds: int, now: Clock = utcnow
) -> list[str]:
    """Queue again each job that would otherwise wait forever, and return their ids:

    - a running job whose worker has not reported for a lease: the worker died, or it lost the
      database for longer than a lease;
    - a pending job that no worker claimed for ``pending_seconds`` while no message waits in the
      broker's queue: its message was lost (a broker that restarted empty, a deleted message).

    The job's row changes first, in one conditional update, so of several workers sweeping at once
    only one queues it, and a job gets at most one new message per lease (pending: per
    ``pending_seconds``). While the database or the broker is down this raises; nothing is lost,
    and the next sweep tries again.
    """
    moment = now()
    stale_before = moment - timedelta(seconds=lease_seconds)
    queued_before = moment - timedelta(seconds=pending_seconds)
    candidates = jobs.stale(stale_before)
    unclaimed = jobs.unclaimed(queued_before)
    if unclaimed and queue.waiting() == 0:
        candidates += unclaimed
    requeued = []
    for job in candidates:
        if jobs.requeue(job.id, moment, stale_before=stale_before, queued_before=queued_before):
            queue.enqueue(job.id)
            requeued.append(job.id)
    return requeued


def handle_delivery(
    jobs: JobStore,
    kinds: JobKinds,
    services: Any,
    job_id: str,
    *,
    worker: str,
    lease_seconds: int,
    transient: tuple[type[BaseException], ...] = (Unavailable,),
    explain: Explain = _nothing_to_say,
    now: Clock = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """What a worker does with one message: run the job (see ``run_job``).

    While the database is unreachable it tries again, waiting 1, 2, 4… seconds, for up to one lease
    after the first failure; then it gives up (``UNAVAILABLE``). The job is then pending or its lease
    runs out, and a sweep queues it again once the database is back. Nothing here sends a message, so
    however long an outage lasts, each job has at most the message being retried.
    """
    give_up_at: datetime | None = None
    delay = 1
    while True:
        try:
            return run_job(
                jobs,
                kinds,
                services,
                job_id,
                worker=worker,
                lease_seconds=lease_seconds,
                transient=transient,
                explain=explain,
                now=now,
            )
        except transient as error:
            failed_at = now()
            give_up_at = give_up_at or failed_at + timedelta(seconds=lease_seconds)
            if failed_at + timedelta(seconds=delay) > give_up_at:
                log.warning(
                    "task %s: the database is still unavailable (%s); it is queued again once the database is back",
                    job_id,
                    type(error).__name__,
                )
                return RunOutcome.UNAVAILABLE
            log.warning("task %s: database unavailable (%s); trying again in %ss", job_id, type(error).__name__, delay)
            sleep(delay)
            delay *= 2


def run_job(
    jobs: JobStore,
    kinds: JobKinds,
    services: Any,
    job_id: str,
    *,
    worker: str,
    lease_seconds: int,
    transient: tuple[type[BaseException], ...] = (Unavailable,),
    explain: Explain = _nothing_to_say,
    now: Clock = utcnow,
) -> RunOutcome:
    """Claim the job and run its kind's function, recording progress and the outcome.

    Errors of the ``transient`` types (database unreachable) are raised for the caller to
    retry later. Our own errors fail the job with their message; any other error fails it with
    what ``explain`` says of it, its text going only to the log. A function that raises
    ``Deferred`` leaves the job running: the child jobs it started will record its outcome.
    """
    claimed = jobs.claim(job_id, worker, now(), now() - timedelta(seconds=lease_seconds))
    if claimed is None:
        current = jobs.get(job_id)
        if current is None:
            log.warning("task %s is not recorded; nothing to run", job_id)
            return RunOutcome.MISSING
        if not current.finished:
            return RunOutcome.BUSY
        _after_finish(kinds, services, current, transient)
        return RunOutcome.ALREADY_FINISHED
    if claimed.cancel_requested:
        if jobs.finish(job_id, JobState.CANCELLED, now(), worker=worker, progress=claimed.progress):
            _after_finish(kinds, services, _finished(claimed, JobState.CANCELLED), transient)
        return RunOutcome.FINISHED
    function = kinds.function(claimed.kind)
    if function is None:
        jobs.finish(job_id, JobState.FAILURE, now(), worker=worker, error=f"no worker function for {claimed.kind!r}")
        return RunOutcome.FINISHED

    heartbeat = _Heartbeat(jobs, job_id, worker, lease_seconds / 3, now)
    reporter = ProgressReporter(job_id, heartbeat.record)
    reporter.last = claimed.progress
    heartbeat.start()
    try:
        result = function(services, claimed.params, reporter, heartbeat.should_stop)
    except Deferred:
        return RunOutcome.DEFERRED
    except Cancelled:
        state, result, error = JobState.CANCELLED, None, None
    except transient:
        raise
    except HireflowError as failure:
        state, result, error = JobState.FAILURE, None, failure.message
    except Exception as failure:  # noqa: BLE001 - a job's unexpected error is recorded, not lost
        # Its text can hold database internals (constraint names, COPY context): the log gets it, readers do not.
        log.exception("task %s (%s) failed on an unexpected error", job_id, claimed.kind)
        said = explain(failure)
        state, result, error = JobState.FAILURE, None, f"{said}; {LOG_HINT}" if said else UNEXPECTED_ERROR
    else:
        state = JobState.SUCCESS
        error = None
        last = reporter.last
        reporter.last = JobProgress(last.rows_done, last.rows_total, 100.0, last.counts)
    finally:
        heartbeat.stop()
    if not jobs.finish(
        job_id, state, now(), worker=worker, progress=reporter.last, result=result, error=error and error[:2000]
    ):
        log.warning("task %s: lease lost to another worker; outcome %s not recorded", job_id, state)
        return RunOutcome.LEASE_LOST
    _after_finish(kinds, services, _finished(claimed, state), transient)
    return RunOutcome.FINISHED


def _finished(job: BackgroundJob, state: JobState) -> BackgroundJob:
    job.state = state
    return job


def _after_finish(
    kinds: JobKinds, services: Any, job: BackgroundJob, transient: tuple[type[BaseException], ...]
) -> None:
    hook = kinds.on_finished(job.kind)
    if hook is None:
        return
    try:
        hook(services, job)
    except transient:
        raise
    except Exception:  # noqa: BLE001 - the job's own outcome is recorded; the hook runs again on redelivery
        log.exception("task %s (%s): the step after it finished failed", job.id, job.kind)


class _Heartbeat:
    """Keeps the worker's lease alive from a thread of its own, and learns about cancellation."""

    def __init__(self, jobs: JobStore, job_id: str, worker: str, interval: float, now: Clock) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.worker = worker
        self.interval = interval
        self.now = now
        self.lease = Lease(held=True)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def record(self, progress: JobProgress) -> None:
        self.lease = self.jobs.report(self.job_id, self.worker, self.now(), progress)

    def should_stop(self) -> bool:
        return self.lease.cancel_requested or not self.lease.held

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.lease = self.jobs.report(self.job_id, self.worker, self.now())
            except Exception:  # noqa: BLE001 - a missed heartbeat is retried at the next beat
                log.warning("task %s: heartbeat failed", self.job_id, exc_info=True)
