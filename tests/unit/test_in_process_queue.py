"""The command line's queue: a job it is handed runs here, through the worker's runner, with what it queues in turn."""

from __future__ import annotations

from core.jobs.in_process import InProcessQueue
from core.jobs.progress import ProgressReporter
from core.jobs.runner import JobHandler, JobHandlers, RunOutcome
from core.jobs.submit import submit_job
from domain.background_jobs import JobProgress, JobState
from domain.commands import BackUpTables, RestoreTables
from tests.unit.fakes import FakeDatabase


def test_a_submitted_job_runs_only_when_asked_and_its_progress_is_observed() -> None:
    database, queue = FakeDatabase(), InProcessQueue()
    seen: list[tuple[str, JobProgress]] = []

    def back_up(_command: BackUpTables, progress: ProgressReporter) -> dict[str, int]:
        progress(100, 200, counts={"jobs": {"rows": 200, "backed_up": 100}})
        progress(200, 200, counts={"jobs": {"rows": 200, "backed_up": 200}})
        return {"rows": 200}

    job = submit_job(database, queue, BackUpTables(("jobs",)))
    assert database.get(job.id).state is JobState.PENDING and queue.waiting() == 1

    handlers = JobHandlers(JobHandler(BackUpTables, back_up))
    outcomes = queue.run_queued(
        database, handlers, worker="cli@test", lease_seconds=30, observe=lambda i, p: seen.append((i, p))
    )

    assert outcomes == [RunOutcome.FINISHED] and queue.waiting() == 0
    finished = database.get(job.id)
    assert (finished.state, finished.worker, finished.result) == (JobState.SUCCESS, "cli@test", {"rows": 200})
    assert [(i, p.rows_done) for i, p in seen] == [(job.id, 100), (job.id, 200)]


def test_jobs_that_a_job_queues_run_after_it_in_the_same_call() -> None:
    database, queue = FakeDatabase(), InProcessQueue()
    order: list[str] = []

    def back_up(_command: BackUpTables, progress: ProgressReporter) -> dict[str, int]:
        order.append("backup")
        submit_job(database, queue, RestoreTables((("jobs", "20260101T000000000000Z"),)))
        return {}

    def restore(_command: RestoreTables, progress: ProgressReporter) -> dict[str, int]:
        order.append("restore")
        return {}

    submit_job(database, queue, BackUpTables(("jobs",)))
    handlers = JobHandlers(JobHandler(BackUpTables, back_up), JobHandler(RestoreTables, restore))
    assert queue.run_queued(database, handlers, worker="cli@test", lease_seconds=30) == [RunOutcome.FINISHED] * 2
    assert order == ["backup", "restore"]
