from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from core.ingest import Cancelled
from core.jobs import (
    Deferred,
    JobKinds,
    ProgressReporter,
    RunOutcome,
    cancel_job,
    get_job,
    list_jobs,
    recover_jobs,
    run_job,
    submit_job,
)
from core.ports import JobState
from domain.errors import InvalidRequest, JobFinished, NotFound, Unavailable
from tests.job_fakes import FakeJobQueue, FakeJobStore

LEASE = 30


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2021, 6, 1, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def jobs() -> FakeJobStore:
    return FakeJobStore()


@pytest.fixture
def queue() -> FakeJobQueue:
    return FakeJobQueue()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def counting_backup(services: Any, params: dict[str, Any], progress: ProgressReporter, should_stop: Any) -> dict:
    for done in range(1, 4):
        progress(done * 100, 300, counts={"jobs": {"processed": done * 100}})
    return {"rows": 300, "params_seen": params}


def kinds_with(kind: str, function: Any) -> JobKinds:
    kinds = JobKinds()
    kinds.register(kind, function)
    return kinds


def run(jobs: FakeJobStore, kinds: JobKinds, job_id: str, worker: str = "worker-a", **options: Any) -> RunOutcome:
    return run_job(jobs, kinds, None, job_id, worker=worker, lease_seconds=LEASE, **options)


def test_submitting_records_the_job_pending_before_it_is_queued(jobs, queue, clock):
    job = submit_job(jobs, queue, "backup", {"tables": ["jobs"]}, now=clock)

    assert queue.queued == [job.id]
    assert jobs.get(job.id).state == JobState.PENDING
    assert jobs.get(job.id).created_at == clock.moment


def test_a_job_the_broker_refuses_is_recorded_as_failed_and_reported_unavailable(jobs, clock):
    with pytest.raises(Unavailable):
        submit_job(jobs, FakeJobQueue(broken=True), "backup", {}, job_id="j-1", now=clock)

    failed = jobs.get("j-1")
    assert failed.state == JobState.FAILURE
    assert "could not be queued" in failed.error


def test_an_unknown_kind_of_job_is_refused(jobs, queue):
    with pytest.raises(InvalidRequest):
        submit_job(jobs, queue, "defragment", {})
    assert queue.queued == []


def test_the_registry_refuses_a_kind_the_service_does_not_know():
    with pytest.raises(ValueError, match="unknown job kind"):
        JobKinds().register("defragment", counting_backup)


def test_running_a_job_records_progress_then_success_with_its_result(jobs, queue, clock):
    job = submit_job(jobs, queue, "backup", {"tables": ["jobs"]}, now=clock)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, now=clock)

    done = jobs.get(job.id)
    assert outcome is RunOutcome.FINISHED
    assert done.state == JobState.SUCCESS
    assert done.result == {"rows": 300, "params_seen": {"tables": ["jobs"]}}
    assert done.progress.rows_done == 300 and done.progress.percent == 100.0
    assert [p.percent for _, p in jobs.reports if p] == [33.33, 66.67, 100.0]


def test_a_job_that_raises_is_recorded_as_failed_with_the_message(jobs, queue):
    def broken(*_: Any) -> dict:
        raise RuntimeError("disk full")

    job = submit_job(jobs, queue, "restore", {})
    run(jobs, kinds_with("restore", broken), job.id)

    assert jobs.get(job.id).state == JobState.FAILURE
    assert jobs.get(job.id).error == "RuntimeError: disk full"


def test_a_kind_with_no_registered_function_fails_the_job(jobs, queue):
    job = submit_job(jobs, queue, "restore", {})
    run(jobs, JobKinds(), job.id)
    assert jobs.get(job.id).state == JobState.FAILURE


def test_a_database_outage_is_raised_for_a_retry_and_leaves_the_job_unfinished(jobs, queue):
    def database_down(*_: Any) -> dict:
        raise Unavailable("the database cannot be reached")

    job = submit_job(jobs, queue, "backup", {})
    with pytest.raises(Unavailable):
        run(jobs, kinds_with("backup", database_down), job.id)
    assert not jobs.get(job.id).finished


def test_a_redelivered_message_for_a_finished_job_runs_nothing(jobs, queue):
    calls = []
    job = submit_job(jobs, queue, "backup", {})
    kinds = kinds_with("backup", lambda *args: calls.append(1) or {})

    run(jobs, kinds, job.id)
    second = run(jobs, kinds, job.id, worker="worker-b")

    assert second is RunOutcome.ALREADY_FINISHED
    assert calls == [1]


def test_a_job_held_by_a_live_worker_is_not_run_twice(jobs, queue, clock):
    job = submit_job(jobs, queue, "backup", {}, now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock() - timedelta(seconds=LEASE))
    clock.advance(LEASE - 1)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, worker="worker-b", now=clock)

    assert outcome is RunOutcome.BUSY
    assert jobs.get(job.id).worker == "worker-a"


def test_a_job_whose_worker_stopped_reporting_is_taken_over_and_finished(jobs, queue, clock):
    job = submit_job(jobs, queue, "backup", {}, now=clock)
    jobs.claim(job.id, "worker-a", clock(), clock() - timedelta(seconds=LEASE))
    clock.advance(LEASE + 1)

    outcome = run(jobs, kinds_with("backup", counting_backup), job.id, worker="worker-b", now=clock)

    assert outcome is RunOutcome.FINISHED
    assert jobs.get(job.id).state == JobState.SUCCESS
    assert jobs.get(job.id).attempts == 2


def test_recovery_queues_again_only_the_jobs_whose_worker_went_silent(jobs, queue, clock):
    silent = submit_job(jobs, queue, "backup", {}, now=clock)
    alive = submit_job(jobs, queue, "backup", {}, now=clock)
    jobs.claim(silent.id, "worker-a", clock(), clock())
    clock.advance(LEASE + 5)
    jobs.claim(alive.id, "worker-b", clock(), clock())
    queue.queued.clear()

    assert recover_jobs(jobs, queue, LEASE, now=clock) == [silent.id]
    assert queue.queued == [silent.id]


def test_cancelling_a_pending_job_cancels_it_before_it_runs(jobs, queue):
    calls = []
    job = submit_job(jobs, queue, "backup", {})

    assert cancel_job(jobs, job.id).state == JobState.CANCELLED
    run(jobs, kinds_with("backup", lambda *args: calls.append(1) or {}), job.id)
    assert calls == []


def test_cancelling_a_running_job_stops_it_between_batches(jobs, queue):
    batches = []

    def stoppable(services: Any, params: dict, progress: ProgressReporter, should_stop: Any) -> dict:
        for batch in range(1, 10):
            batches.append(batch)
            if batch == 2:
                cancel_job(jobs, progress.job_id)
            progress(batch * 1000)
            if should_stop():
                raise Cancelled()
        return {}

    job = submit_job(jobs, queue, "ingest", {})
    run(jobs, kinds_with("ingest", stoppable), job.id)

    assert batches == [1, 2]
    assert jobs.get(job.id).state == JobState.CANCELLED
    assert jobs.get(job.id).progress.rows_done == 2000


def test_a_finished_job_cannot_be_cancelled(jobs, queue):
    job = submit_job(jobs, queue, "backup", {})
    run(jobs, kinds_with("backup", counting_backup), job.id)
    with pytest.raises(JobFinished):
        cancel_job(jobs, job.id)


def test_an_unknown_task_id_is_not_found_rather_than_pending(jobs):
    with pytest.raises(NotFound):
        get_job(jobs, "no-such-task")
    with pytest.raises(NotFound):
        cancel_job(jobs, "no-such-task")


def test_the_list_is_newest_first_filtered_and_paginated(jobs, queue, clock):
    ids = []
    for kind in ("ingest", "backup", "ingest", "restore", "ingest"):
        ids.append(submit_job(jobs, queue, kind, {}, now=clock).id)
        clock.advance(1)

    page = list_jobs(jobs, kind="ingest", page=1, per_page=2)

    assert [job.id for job in page.items] == [ids[4], ids[2]]
    assert page.total == 3
    assert [job.id for job in list_jobs(jobs, kind="ingest", page=2, per_page=2).items] == [ids[0]]
    assert list_jobs(jobs, state=JobState.SUCCESS).total == 0
    with pytest.raises(InvalidRequest):
        list_jobs(jobs, page=0)


def test_a_job_that_hands_its_work_to_children_stays_running_and_nothing_is_recorded_for_it(jobs, queue, clock):
    job = submit_job(jobs, queue, "ingest", {}, now=clock)

    def hand_over(services: Any, params: dict, progress: ProgressReporter, should_stop: Any) -> dict:
        progress(10, 100)
        raise Deferred()

    assert run(jobs, kinds_with("ingest", hand_over), job.id, now=clock) == RunOutcome.DEFERRED

    waiting = jobs.get(job.id)
    assert waiting.state == JobState.PROGRESS and waiting.finished_at is None and waiting.result is None


def test_the_step_after_a_kind_finishes_sees_the_outcome_recorded_and_runs_again_on_redelivery(jobs, queue, clock):
    job = submit_job(jobs, queue, "backup", {}, now=clock)
    seen: list[JobState] = []
    kinds = JobKinds()
    kinds.register("backup", counting_backup, on_finished=lambda _s, j: seen.append(jobs.get(j.id).state))

    run(jobs, kinds, job.id, now=clock)
    run(jobs, kinds, job.id, now=clock)

    assert seen == [JobState.SUCCESS, JobState.SUCCESS]
