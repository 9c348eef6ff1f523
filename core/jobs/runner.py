"""Run one recorded job on a worker: claim it, call its kind's handler, record the outcome.

A worker claims a job with a lease that a heartbeat keeps alive; a message delivered twice, or to a
second worker while the first still holds the lease, runs nothing. The composition root gives each
handler the dependencies it names; the runner gives it the job's command and its progress reporter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NotRequired, TypedDict, Unpack

from core.clock import Clock, utcnow
from core.jobs.logs import job_logging, log_summary
from core.jobs.progress import Heartbeat, Observer, ProgressReporter
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import BackgroundJob, Cancelled, Deferred, JobProgress, JobState
from domain.commands import JOB_KINDS, JobCommand
from domain.errors import HireflowError, Unavailable

# What a reader sees of an error we did not foresee; the log has the details, under the job's id.
LOG_HINT = "the service log has the details under this task id"
UNEXPECTED_ERROR = f"the task stopped on an unexpected error; {LOG_HINT}"
UNREADABLE_PARAMS = "the task's parameters cannot be read by this release of the service"

log = logging.getLogger("hireflow.jobs")

# Says in plain words what an unforeseen error was (``None``: nothing to say), without its text.
Explain = Callable[[Exception], str | None]


def _nothing_to_say(_error: Exception) -> str | None:
    return None


@dataclass(frozen=True)
class JobHandler:
    """What runs one kind of job: ``run(command, progress) -> result``, its other dependencies already bound.

    ``on_finished(job)``, if given, runs each time a worker finds or leaves a job of that kind finished,
    after its outcome is recorded; it must be safe to run more than once.
    """

    command: type[JobCommand]
    run: Callable[[Any, ProgressReporter], dict[str, Any]]
    on_finished: Callable[[BackgroundJob], None] | None = None


class JobHandlers:
    """The handler of each kind of job."""

    def __init__(self, *handlers: JobHandler) -> None:
        for handler in handlers:
            if handler.command.kind not in JOB_KINDS:
                raise ValueError(f"unknown job kind {handler.command.kind!r}; expected one of {', '.join(JOB_KINDS)}")
        self._handlers = {handler.command.kind: handler for handler in handlers}

    def get(self, kind: str) -> JobHandler | None:
        return self._handlers.get(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers


class RunOutcome(StrEnum):
    FINISHED = "finished"
    ALREADY_FINISHED = "already_finished"
    BUSY = "busy"
    LEASE_LOST = "lease_lost"
    MISSING = "missing"
    DEFERRED = "deferred"
    UNAVAILABLE = "unavailable"


class RunOptions(TypedDict):
    """Who runs the job, and how: ``run_job``'s keyword arguments."""

    worker: str
    lease_seconds: int
    transient: NotRequired[tuple[type[BaseException], ...]]
    explain: NotRequired[Explain]
    now: NotRequired[Clock]
    observe: NotRequired[Observer]


def handle_delivery(
    uow: UnitOfWorkFactory,
    handlers: JobHandlers,
    job_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    **options: Unpack[RunOptions],
) -> RunOutcome:
    """What a worker does with one message: run the job (see ``run_job``).

    While the database is unreachable it tries again, waiting 1, 2, 4… seconds, for up to one lease
    after the first failure; then it gives up (``UNAVAILABLE``). The job is then pending or its lease
    runs out, and a sweep queues it again once the database is back. Nothing here sends a message, so
    however long an outage lasts, each job has at most the message being retried.
    """
    transient = options.get("transient", (Unavailable,))
    now = options.get("now", utcnow)
    give_up_at: datetime | None = None
    delay = 1
    while True:
        try:
            return run_job(uow, handlers, job_id, **options)
        except transient as error:
            failed_at = now()
            give_up_at = give_up_at or failed_at + timedelta(seconds=options["lease_seconds"])
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
    uow: UnitOfWorkFactory,
    handlers: JobHandlers,
    job_id: str,
    *,
    worker: str,
    lease_seconds: int,
    transient: tuple[type[BaseException], ...] = (Unavailable,),
    explain: Explain = _nothing_to_say,
    now: Clock = utcnow,
    observe: Observer | None = None,
) -> RunOutcome:
    """Claim the job and run its kind's handler, recording progress and the outcome.

    Errors of the ``transient`` types (database unreachable) are raised for the caller to
    retry later. Our own errors fail the job with their message; any other error fails it with
    what ``explain`` says of it, its text going only to the log. ``observe(job_id, progress)`` is told each
    progress the job records (a command-line run draws its progress bars with it). A handler that raises
    ``Deferred`` leaves the job running: the child jobs it started will record its outcome.
    """
    with uow() as tx:
        claimed = tx.jobs.claim(job_id, worker, now(), now() - timedelta(seconds=lease_seconds))
        tx.commit()
    if claimed is None:
        with uow() as tx:
            current = tx.jobs.get(job_id)
        if current is None:
            log.warning("task %s is not recorded; nothing to run", job_id)
            return RunOutcome.MISSING
        if not current.finished:
            return RunOutcome.BUSY
        _after_finish(handlers, current, transient)
        return RunOutcome.ALREADY_FINISHED
    finish = _Finish(uow, job_id, worker, now)
    with job_logging(job_id, claimed.kind):
        return _run_claimed(handlers, claimed, finish, uow, transient, explain, lease_seconds, observe)


def _run_claimed(
    handlers: JobHandlers,
    claimed: BackgroundJob,
    finish: _Finish,
    uow: UnitOfWorkFactory,
    transient: tuple[type[BaseException], ...],
    explain: Explain,
    lease_seconds: int,
    observe: Observer | None,
) -> RunOutcome:
    """``run_job`` once the job is claimed: its handler, then its outcome recorded and logged."""
    job_id, worker, now = claimed.id, finish.worker, finish.now
    if claimed.cancel_requested:
        if finish(JobState.CANCELLED, progress=claimed.progress):
            _after_finish(handlers, _finished(claimed, JobState.CANCELLED), transient)
        return RunOutcome.FINISHED
    handler = handlers.get(claimed.kind)
    if handler is None:
        _log_failure(claimed, f"no worker function for {claimed.kind!r}")
        finish(JobState.FAILURE, error=f"no worker function for {claimed.kind!r}")
        return RunOutcome.FINISHED
    try:
        command = handler.command.from_params(claimed.params)
    except (KeyError, TypeError, ValueError, AttributeError):
        log.exception("task %s (%s): its parameters cannot be read: %r", job_id, claimed.kind, claimed.params)
        _log_failure(claimed, UNREADABLE_PARAMS)
        finish(JobState.FAILURE, error=UNREADABLE_PARAMS)
        return RunOutcome.FINISHED

    reporter = ProgressReporter(job_id, worker, uow, now, claimed.progress, observe=observe)
    heartbeat = Heartbeat(reporter, lease_seconds / 3)
    heartbeat.start()
    started = time.monotonic()
    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        result = handler.run(command, reporter)
    except Deferred:
        return RunOutcome.DEFERRED
    except Cancelled:
        state = JobState.CANCELLED
    except transient:
        raise
    except HireflowError as failure:
        state, error = JobState.FAILURE, failure.message
    except Exception as failure:  # noqa: BLE001 - a job's unexpected error is recorded, not lost
        # Its text can hold database internals (constraint names, COPY context): the log gets it, readers do not.
        log.exception("task %s (%s) failed on an unexpected error", job_id, claimed.kind)
        said = explain(failure)
        state, error = JobState.FAILURE, f"{said}; {LOG_HINT}" if said else UNEXPECTED_ERROR
    else:
        state = JobState.SUCCESS
        reporter.last = reporter.finished()
    finally:
        heartbeat.stop()
    if not finish(state, progress=reporter.last, result=result, error=error and error[:2000]):
        log.warning("task %s: lease lost to another worker; outcome %s not recorded", job_id, state)
        return RunOutcome.LEASE_LOST
    seconds = time.monotonic() - started
    if state is JobState.SUCCESS:
        log_summary(log, f"task {job_id} ({claimed.kind}) SUCCESS", result or {}, seconds, state=state.value)
    elif state is JobState.FAILURE:
        _log_failure(claimed, error or UNEXPECTED_ERROR, seconds)
    else:
        log.info(
            "task %s (%s) %s after %.2f s", job_id, claimed.kind, state.value, seconds, extra={"state": state.value}
        )
    _after_finish(handlers, _finished(claimed, state), transient)
    return RunOutcome.FINISHED


def _log_failure(job: BackgroundJob, error: str, seconds: float = 0.0) -> None:
    """One ERROR line per failed job, with the reason its readers see."""
    log.error(
        "task %s (%s) FAILURE after %.2f s: %s",
        job.id,
        job.kind,
        seconds,
        error,
        extra={"state": JobState.FAILURE.value, "error": error, "seconds": round(seconds, 3)},
    )


@dataclass(frozen=True)
class _Finish:
    """Records the outcome of the job this worker holds, in a unit of work of its own; False once it lost it."""

    uow: UnitOfWorkFactory
    job_id: str
    worker: str
    now: Clock

    def __call__(
        self,
        state: JobState,
        *,
        progress: JobProgress | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        with self.uow() as tx:
            recorded = tx.jobs.finish(
                self.job_id, state, self.now(), worker=self.worker, progress=progress, result=result, error=error
            )
            tx.commit()
        return recorded


def _finished(job: BackgroundJob, state: JobState) -> BackgroundJob:
    job.state = state
    return job


def _after_finish(handlers: JobHandlers, job: BackgroundJob, transient: tuple[type[BaseException], ...]) -> None:
    handler = handlers.get(job.kind)
    if handler is None or handler.on_finished is None:
        return
    try:
        handler.on_finished(job)
    except transient:
        raise
    except Exception:  # noqa: BLE001 - the job's own outcome is recorded; the hook runs again on redelivery
        log.exception("task %s (%s): the step after it finished failed", job.id, job.kind)
