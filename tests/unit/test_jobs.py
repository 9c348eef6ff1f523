from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from core.jobs.progress import ProgressReporter
from core.jobs.runner import UNEXPECTED_ERROR, JobHandler, JobHandlers, RunOutcome, handle_delivery, run_job
from core.jobs.submit import cancel_job, get_job, list_jobs, submit_job
from core.jobs.sweep import sweep_jobs
from domain.background_jobs import Cancelled, Deferred, JobProgress, JobState
from domain.commands import COMMANDS, BackUpTables, IngestSources, JobCommand, RestoreTables
from domain.errors import InvalidRequest, JobFinished, NotFound, Unavailable
from tests.job_fakes import FakeJobQueue
from tests.unit.fakes import FakeDatabase

LEASE = 30
EMPTY = {"ingest": {"sources": {}}, "backup": {}, "restore": {"backups": {}}}
PENDING = 60


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2021, 6, 1, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Defragment(JobCommand):
    kind: ClassVar[str] = "defragment"

    def to_params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Defragment:
        return cls()


@pytest.fixture
def jobs() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def queue() -> FakeJobQueue:
    return FakeJobQueue()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def counting_backup(command: JobCommand, progress: ProgressReporter) -> dict:
    for done in range(1, 4):
        progress(done * 100, 300, counts={"jobs": {"processed": done * 100}})
    return {"rows": 300, "params_seen": command.to_params()}


def kinds_with(kind: str, function: Any) -> JobHandlers:
    return JobHandlers(JobHandler(COMMANDS[kind], function))


def run(jobs: FakeDatabase, kinds: JobHandlers, job_id: str, worker: str = "worker-a", **options: Any) -> RunOutcome:
    return run_job(jobs, kinds, job_id, worker=worker, lease_seconds=LEASE, **options)


def test_submitting_records_the_job_pending_before_it_is_queued(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(("jobs",)), now=clock)

    assert queue.queued == [job.id]
    assert jobs.get(job.id).state == JobState.PENDING
    assert jobs.get(job.id).created_at == clock.moment


def test_a_job_the_broker_refuses_is_recorded_as_failed_and_reported_unavailable(jobs, clock):
    with pytest.raises(Unavailable):
        submit_job(jobs, FakeJobQueue(broken=True), BackUpTables(), job_id="j-1", now=clock)

    failed = jobs.get("j-1")
    assert failed.state == JobState.FAILURE
    assert "could not be queued" in failed.error


def test_an_unknown_kind_of_job_is_refused(jobs, queue):
    with pytest.raises(InvalidRequest):
        submit_job(jobs, queue, Defragment())
    assert queue.queued == []


def test_the_registry_refuses_a_kind_the_service_does_not_know():
    with pytest.raises(ValueError, match="unknown job kind"):
        JobHandlers(JobHandler(Defragment, counting_backup))


def test_running_a_job_records_progress_then_success_with_its_result(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(("jobs",)), now=clock)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, now=clock)

    done = jobs.get(job.id)
    assert outcome is RunOutcome.FINISHED
    assert done.state == JobState.SUCCESS
    assert done.result == {"rows": 300, "params_seen": {"tables": ["jobs"]}}
    assert done.progress.rows_done == 300 and done.progress.percent == 100.0
    assert [p.percent for _, p in jobs.reports if p] == [33.33, 66.67, 100.0]


def test_a_job_that_raises_fails_with_a_plain_message_and_the_details_go_to_the_log(jobs, queue, caplog):
    def broken(*_: Any) -> dict:
        raise RuntimeError('duplicate key value violates unique constraint "hired_employees_pkey"')

    job = submit_job(jobs, queue, RestoreTables(()))
    run(jobs, kinds_with("restore", broken), job.id)

    assert jobs.get(job.id).state == JobState.FAILURE
    assert jobs.get(job.id).error == UNEXPECTED_ERROR
    logged = [r for r in caplog.records if r.levelname == "ERROR" and job.id in r.getMessage()]
    assert logged and "hired_employees_pkey" in str(logged[0].exc_info[1])


def test_a_job_that_refuses_its_input_fails_with_the_reason_it_gives(jobs, queue):
    def refused(*_: Any) -> dict:
        raise InvalidRequest("the backup of jobs is damaged")

    job = submit_job(jobs, queue, RestoreTables(()))
    run(jobs, kinds_with("restore", refused), job.id)

    assert jobs.get(job.id).error == "the backup of jobs is damaged"


def test_a_kind_with_no_registered_function_fails_the_job(jobs, queue):
    job = submit_job(jobs, queue, RestoreTables(()))
    run(jobs, JobHandlers(), job.id)
    assert jobs.get(job.id).state == JobState.FAILURE


def test_a_database_outage_is_raised_for_a_retry_and_leaves_the_job_unfinished(jobs, queue):
    def database_down(*_: Any) -> dict:
        raise Unavailable("the database cannot be reached")

    job = submit_job(jobs, queue, BackUpTables())
    with pytest.raises(Unavailable):
        run(jobs, kinds_with("backup", database_down), job.id)
    assert not jobs.get(job.id).finished


def test_a_redelivered_message_for_a_finished_job_runs_nothing(jobs, queue):
    calls = []
    job = submit_job(jobs, queue, BackUpTables())
    kinds = kinds_with("backup", lambda *args: calls.append(1) or {})

    run(jobs, kinds, job.id)
    second = run(jobs, kinds, job.id, worker="worker-b")

    assert second is RunOutcome.ALREADY_FINISHED
    assert calls == [1]


def test_a_job_held_by_a_live_worker_is_not_run_twice(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock() - timedelta(seconds=LEASE))
    clock.advance(LEASE - 1)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, worker="worker-b", now=clock)

    assert outcome is RunOutcome.BUSY
    assert jobs.get(job.id).worker == "worker-a"


def test_a_job_whose_worker_stopped_reporting_is_taken_over_and_finished(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock() - timedelta(seconds=LEASE))
    clock.advance(LEASE + 1)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, worker="worker-b", now=clock)

    assert outcome is RunOutcome.FINISHED
    assert jobs.get(job.id).state == JobState.SUCCESS
    assert jobs.get(job.id).attempts == 2


def sweep(jobs: FakeDatabase, queue: FakeJobQueue, clock: Clock) -> list[str]:
    return sweep_jobs(jobs, queue, lease_seconds=LEASE, pending_seconds=PENDING, now=clock)


def test_a_sweep_hands_back_only_the_running_jobs_whose_worker_went_silent(jobs, queue, clock):
    silent = submit_job(jobs, queue, BackUpTables(), now=clock)
    alive = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(silent.id, "worker-a", clock(), clock())
    jobs.report(silent.id, "worker-a", clock(), JobProgress(4000, 9000, 44.4))
    clock.advance(LEASE + 1)
    jobs.claim(alive.id, "worker-b", clock(), clock())
    queue.queued.clear()
    queue.waiting_messages = 1

    assert sweep(jobs, queue, clock) == [silent.id]

    assert queue.queued == [silent.id]
    handed_back = jobs.get(silent.id)
    assert handed_back.state == JobState.PENDING and handed_back.worker is None
    assert handed_back.progress.rows_done == 4000
    assert jobs.get(alive.id).state == JobState.STARTED


def test_a_silent_job_gets_one_new_message_however_many_workers_sweep(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock())
    clock.advance(LEASE + 1)
    queue.queued.clear()
    queue.waiting_messages = 1

    first, second = sweep(jobs, queue, clock), sweep(jobs, queue, clock)
    clock.advance(LEASE)
    later = sweep(jobs, queue, clock)

    assert (first, second, later) == ([job.id], [], [])
    assert queue.queued == [job.id]


def test_a_job_handed_back_resumes_on_the_next_worker(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock())
    clock.advance(LEASE + 1)
    sweep(jobs, queue, clock)

    assert run(jobs, kinds_with("backup", counting_backup), job.id, worker="worker-b", now=clock) is RunOutcome.FINISHED
    assert jobs.get(job.id).state == JobState.SUCCESS and jobs.get(job.id).attempts == 2


def test_the_old_worker_of_a_job_handed_back_loses_its_lease_and_records_nothing(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock())
    clock.advance(LEASE + 1)
    sweep(jobs, queue, clock)

    assert not jobs.report(job.id, "worker-a", clock()).held
    assert not jobs.finish(job.id, JobState.SUCCESS, clock(), worker="worker-a")


def test_a_pending_job_whose_message_was_lost_is_queued_again_once_the_broker_queue_is_empty(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    queue.queued.clear()
    clock.advance(PENDING - 1)
    assert sweep(jobs, queue, clock) == []

    clock.advance(2)
    queue.waiting_messages = 3
    assert sweep(jobs, queue, clock) == []

    queue.waiting_messages = 0
    assert sweep(jobs, queue, clock) == [job.id]
    assert sweep(jobs, queue, clock) == []
    clock.advance(PENDING + 1)
    assert sweep(jobs, queue, clock) == [job.id]
    assert queue.queued == [job.id, job.id]


def test_a_sweep_while_the_broker_is_down_loses_no_job(jobs, clock):
    queue = FakeJobQueue()
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock())
    clock.advance(LEASE + 1)
    queue.broken = True

    with pytest.raises(Unavailable):
        sweep(jobs, queue, clock)

    queue.broken = False
    queue.queued.clear()
    assert sweep(jobs, queue, clock) == []
    clock.advance(PENDING + 1)
    assert sweep(jobs, queue, clock) == [job.id]
    assert queue.queued == [job.id]


class FlakyDatabase:
    """A job function that runs ``runs_for`` seconds, then finds the database down until ``outage`` seconds later."""

    def __init__(self, clock: Clock, outage: float, runs_for: float = 0) -> None:
        self.clock = clock
        self.runs_for = runs_for
        self.back_at = clock() + timedelta(seconds=runs_for + outage)
        self.calls = 0

    def __call__(self, *args: Any) -> dict:
        self.calls += 1
        if self.calls == 1:
            self.clock.advance(self.runs_for)
        if self.clock() < self.back_at:
            raise Unavailable("the database cannot be reached")
        return counting_backup(*args)


def deliver(jobs: FakeDatabase, kinds: JobHandlers, job_id: str, clock: Clock) -> RunOutcome:
    return handle_delivery(jobs, kinds, job_id, worker="worker-a", lease_seconds=LEASE, now=clock, sleep=clock.advance)


def test_a_delivery_waits_out_a_short_database_outage_and_finishes_the_job(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    flaky = FlakyDatabase(clock, outage=5)

    assert deliver(jobs, kinds_with("backup", flaky), job.id, clock) is RunOutcome.FINISHED

    assert jobs.get(job.id).state == JobState.SUCCESS
    assert flaky.calls == 4  # at 0, 1, 3 and 7 seconds


def test_a_job_that_ran_for_hours_before_the_database_went_down_still_waits_a_lease_for_it(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    flaky = FlakyDatabase(clock, outage=5, runs_for=3 * 3600)

    assert deliver(jobs, kinds_with("backup", flaky), job.id, clock) is RunOutcome.FINISHED
    assert flaky.calls == 4


def test_a_long_database_outage_sends_no_message_and_the_job_is_queued_again_once_it_is_back(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    queue.queued.clear()
    flaky = FlakyDatabase(clock, outage=600)

    kinds = kinds_with("backup", flaky)

    assert deliver(jobs, kinds, job.id, clock) is RunOutcome.UNAVAILABLE
    assert flaky.calls == 5 and queue.queued == []

    clock.advance(600)
    assert sweep(jobs, queue, clock) == [job.id]
    assert deliver(jobs, kinds, job.id, clock) is RunOutcome.FINISHED
    assert jobs.get(job.id).state == JobState.SUCCESS


def test_cancelling_a_pending_job_cancels_it_before_it_runs(jobs, queue):
    calls = []
    job = submit_job(jobs, queue, BackUpTables())

    assert cancel_job(jobs, job.id).state == JobState.CANCELLED
    run(jobs, kinds_with("backup", lambda *args: calls.append(1) or {}), job.id)
    assert calls == []


def test_cancelling_a_running_job_stops_it_between_batches(jobs, queue):
    batches = []

    def stoppable(command: JobCommand, progress: ProgressReporter) -> dict:
        for batch in range(1, 10):
            batches.append(batch)
            if batch == 2:
                cancel_job(jobs, progress.job_id)
            progress(batch * 1000)
            if progress.should_stop():
                raise Cancelled()
        return {}

    job = submit_job(jobs, queue, IngestSources(()))
    run(jobs, kinds_with("ingest", stoppable), job.id)

    assert batches == [1, 2]
    assert jobs.get(job.id).state == JobState.CANCELLED
    assert jobs.get(job.id).progress.rows_done == 2000


def test_a_finished_job_cannot_be_cancelled(jobs, queue):
    job = submit_job(jobs, queue, BackUpTables())
    run(jobs, kinds_with("backup", counting_backup), job.id)
    with pytest.raises(JobFinished):
        cancel_job(jobs, job.id)


def test_a_cancelled_job_cannot_be_cancelled_again(jobs, queue):
    job = submit_job(jobs, queue, BackUpTables())
    cancel_job(jobs, job.id)

    with pytest.raises(JobFinished, match="CANCELLED"):
        cancel_job(jobs, job.id)


def test_an_unknown_task_id_is_not_found_rather_than_pending(jobs):
    with pytest.raises(NotFound):
        get_job(jobs, "no-such-task")
    with pytest.raises(NotFound):
        cancel_job(jobs, "no-such-task")


def test_the_list_is_newest_first_filtered_and_paginated(jobs, queue, clock):
    ids = []
    for kind in ("ingest", "backup", "ingest", "restore", "ingest"):
        ids.append(submit_job(jobs, queue, COMMANDS[kind].from_params(EMPTY[kind]), now=clock).id)
        clock.advance(1)

    page = list_jobs(jobs, kind="ingest", page=1, per_page=2)

    assert [job.id for job in page.items] == [ids[4], ids[2]]
    assert page.total == 3
    assert [job.id for job in list_jobs(jobs, kind="ingest", page=2, per_page=2).items] == [ids[0]]
    assert list_jobs(jobs, state=JobState.SUCCESS).total == 0
    with pytest.raises(InvalidRequest):
        list_jobs(jobs, page=0)


def test_a_job_that_hands_its_work_to_children_stays_running_and_nothing_is_recorded_for_it(jobs, queue, clock):
    job = submit_job(jobs, queue, IngestSources(()), now=clock)

    def hand_over(command: JobCommand, progress: ProgressReporter) -> dict:
        progress(10, 100)
        raise Deferred()

    assert run(jobs, kinds_with("ingest", hand_over), job.id, now=clock) == RunOutcome.DEFERRED

    waiting = jobs.get(job.id)
    assert waiting.state == JobState.PROGRESS and waiting.finished_at is None and waiting.result is None


def test_the_step_after_a_kind_finishes_sees_the_outcome_recorded_and_runs_again_on_redelivery(jobs, queue, clock):
    job = submit_job(jobs, queue, BackUpTables(), now=clock)
    seen: list[JobState] = []
    kinds = JobHandlers(
        JobHandler(BackUpTables, counting_backup, on_finished=lambda j: seen.append(jobs.get(j.id).state))
    )

    run(jobs, kinds, job.id, now=clock)
    run(jobs, kinds, job.id, now=clock)

    assert seen == [JobState.SUCCESS, JobState.SUCCESS]


def test_an_error_the_worker_can_explain_fails_the_job_with_its_plain_words_and_no_internals(jobs, queue):
    def broken(*_: Any) -> dict:
        raise RuntimeError('COPY hired_employees, line 7: insert violates "hired_employees_department_id_fkey"')

    job = submit_job(jobs, queue, IngestSources(()))
    run(jobs, kinds_with("ingest", broken), job.id, explain=lambda error: "the database refused a write")

    assert jobs.get(job.id).error == "the database refused a write; the service log has the details under this task id"
