"""Fan-out and fan-in of a split ``hired_employees`` load, on fakes of our own ports."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from bootstrap import inject
from core.config import Settings, load_settings
from core.ingest.handlers import Splitting, ingest_job, ingest_part_job
from core.ingest.loader import ingest_blob
from core.ingest.parts import finish_parent_if_last, part_key
from core.ingest.ranges import plan_ranges
from core.ingest.submit import root_sources, submit_ingest
from core.jobs.runner import JobHandler, JobHandlers, RunOutcome, run_job
from core.jobs.submit import cancel_job
from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from domain.background_jobs import BackgroundJob, JobState
from domain.commands import IngestPart, IngestSources
from domain.entities import HIRED_EMPLOYEES
from tests.batch_summaries import assert_batches_add_up, counts_only, error_ids
from tests.job_fakes import FakeJobQueue, FakeJobRepository
from tests.unit.fakes import FakeDatabase
from tests.unit.test_ingest import FakeStorage, departments_csv

EMPLOYEES = 4_500


@dataclass
class Fakes:
    """The fake adapters the split loads run on; ``jobs`` and ``store`` are two names for the one fake database."""

    settings: Settings
    storage: FakeStorage
    store: FakeDatabase = field(default_factory=FakeDatabase)
    queue: FakeJobQueue = field(default_factory=FakeJobQueue)

    @property
    def jobs(self) -> FakeDatabase:
        return self.store


def sample_files() -> dict[str, bytes]:
    rows = list(employee_rows(EMPLOYEES, invalid_share=0.05, seed=11))
    rows[3000] = rows[10]  # the same employee twice: the second is already there
    rows[3500] = [rows[20][0], "Someone Else", *rows[20][2:]]  # the same id, other content: a conflict
    return {
        "departments.csv": csv_bytes(departments_rows()),
        "jobs.csv": csv_bytes(jobs_rows()),
        "hired_employees.csv": csv_bytes([list(HIRED_EMPLOYEES.column_names), *rows]),
    }


def services_with(parts: int) -> Fakes:
    settings = load_settings({"INGEST_PARTS": str(parts), "INGEST_PART_MIN_BYTES": "1"})
    return Fakes(settings, FakeStorage(sample_files()))


def kinds(services: Fakes, finish_parent: bool = True) -> JobHandlers:
    """The ingest handlers on the fakes, as the composition root injects them; without ``finish_parent``,
    the parts leave their parent waiting."""
    dependencies = {
        "uow": services.store,
        "storage": services.storage,
        "queue": services.queue,
        "splitting": Splitting(services.settings.ingest_parts, services.settings.ingest_part_min_bytes),
    }
    finish = inject(finish_parent_if_last, dependencies) if finish_parent else None
    return JobHandlers(
        JobHandler(IngestSources, inject(ingest_job, dependencies)),
        JobHandler(IngestPart, inject(ingest_part_job, dependencies), on_finished=finish),
    )


def run(services: Fakes, job_id: str, registry: JobHandlers | None = None, worker: str = "w-1") -> RunOutcome:
    return run_job(services.store, registry or kinds(services), job_id, worker=worker, lease_seconds=30)


def submit(services: Fakes) -> BackgroundJob:
    return submit_ingest(services.store, services.queue, services.storage, root_sources())


def parts_of(services: Fakes, parent: BackgroundJob) -> list[BackgroundJob]:
    return [job for job in services.jobs.jobs.values() if job.params.get("parent") == parent.id]


def fanned_out(parts: int = 3) -> tuple[Fakes, BackgroundJob]:
    services = services_with(parts)
    parent = submit(services)
    assert run(services, parent.id) == RunOutcome.DEFERRED
    return services, parent


def rejected_lines(services: Fakes) -> list[int]:
    return sorted(row.position for row in services.store.rejected)


def test_a_large_employees_file_is_handed_to_parts_once_departments_and_jobs_are_stored():
    services, parent = fanned_out(3)

    parts = parts_of(services, parent)
    assert [p.params["part"] for p in parts] == [0, 1, 2]
    assert all(p.kind == "ingest_part" and p.state == JobState.PENDING for p in parts)
    assert services.queue.queued == [parent.id, *(p.id for p in parts)]
    assert services.jobs.get(parent.id).state == JobState.PROGRESS
    assert services.store.count_rows("departments") == 12 and services.store.count_rows("jobs") == 183
    assert services.store.count_rows("hired_employees") == 0
    assert [p.params["start"] for p in parts[1:]] == [p.params["end"] for p in parts[:-1]]


def one_worker() -> tuple[Fakes, BackgroundJob]:
    single = services_with(1)
    alone = submit(single)
    assert run(single, alone.id) == RunOutcome.FINISHED
    return single, alone


def test_the_parts_run_in_file_order_give_the_parent_exactly_the_outcome_of_one_worker():
    single, alone = one_worker()
    services, parent = fanned_out(3)

    for part in parts_of(services, parent):
        assert run(services, part.id) == RunOutcome.FINISHED

    finished, expected = services.jobs.get(parent.id), single.jobs.get(alone.id)
    assert finished.state == JobState.SUCCESS
    assert counts_only(finished.result) == counts_only(expected.result)
    assert_batches_add_up(finished.result)
    assert_batches_add_up(expected.result)
    assert error_ids(finished.result, "hired_employees") == error_ids(expected.result, "hired_employees")
    assert finished.progress.counts == expected.progress.counts
    assert (finished.progress.rows_done, finished.progress.percent) == (expected.progress.rows_done, 100.0)
    assert services.store.tables == single.store.tables
    assert rejected_lines(services) == rejected_lines(single)
    assert {row.job_id for row in services.store.rejected} == {parent.id}


def test_parts_finishing_in_any_order_give_the_same_counts_though_a_conflicting_id_goes_to_the_first_committed():
    single, alone = one_worker()
    services, parent = fanned_out(3)

    for part in reversed(parts_of(services, parent)):
        run(services, part.id)

    assert counts_only(services.jobs.get(parent.id).result) == counts_only(single.jobs.get(alone.id).result)
    assert_batches_add_up(services.jobs.get(parent.id).result)
    assert services.store.tables["hired_employees"][21][1] == "Someone Else"
    assert single.store.tables["hired_employees"][21][1] != "Someone Else"


def test_only_the_last_part_to_finish_finishes_the_parent_and_meanwhile_it_shows_their_sum():
    services, parent = fanned_out(3)
    parts = parts_of(services, parent)

    run(services, parts[0].id)
    run(services, parts[2].id)

    waiting = services.jobs.get(parent.id)
    done = [services.jobs.get(p.id).result["processed"] for p in (parts[0], parts[2])]
    assert waiting.state == JobState.PROGRESS
    assert waiting.progress.counts["hired_employees"]["processed"] == sum(done)
    assert waiting.progress.counts["departments"]["inserted"] == 12
    assert 0 < waiting.progress.percent < 100
    run(services, parts[1].id)
    assert services.jobs.get(parent.id).state == JobState.SUCCESS


def test_a_failed_part_fails_the_parent_once_every_part_has_finished():
    services, parent = fanned_out(3)
    parts = parts_of(services, parent)
    run(services, parts[0].id)
    del services.storage.blobs["hired_employees.csv"]

    run(services, parts[1].id)
    assert services.jobs.get(parent.id).state == JobState.PROGRESS
    run(services, parts[2].id)

    failed = services.jobs.get(parent.id)
    assert failed.state == JobState.FAILURE
    assert failed.error.startswith("part 1: ") and "part 2: " in failed.error
    assert failed.result is None


def test_cancelling_the_parent_cancels_the_parts_not_started_and_then_the_parent():
    services, parent = fanned_out(2)

    cancel_job(services.jobs, parent.id)
    outcomes = [run(services, p.id) for p in parts_of(services, parent)]

    assert outcomes == [RunOutcome.FINISHED] * 2
    assert [p.state for p in parts_of(services, parent)] == [JobState.CANCELLED] * 2
    assert services.jobs.get(parent.id).state == JobState.CANCELLED
    assert services.store.count_rows("hired_employees") == 0


def test_a_running_part_stops_after_the_batch_during_which_the_parent_was_cancelled():
    services, parent = fanned_out(2)
    part = parts_of(services, parent)[1]
    original = FakeJobRepository.hold

    def cancel_then_hold(self: FakeJobRepository, *args: Any) -> Any:
        self.jobs[parent.id].cancel_requested = True
        return original(self, *args)

    FakeJobRepository.hold = cancel_then_hold  # type: ignore[method-assign]
    try:
        run(services, part.id)
    finally:
        FakeJobRepository.hold = original  # type: ignore[method-assign]

    assert services.jobs.get(part.id).state == JobState.CANCELLED
    assert services.jobs.get(part.id).progress.counts["hired_employees"]["processed"] == 1000


def test_a_parent_run_again_queues_its_pending_parts_again_and_keeps_waiting():
    services, parent = fanned_out(3)
    parts = parts_of(services, parent)
    run(services, parts[0].id)
    services.queue.queued.clear()

    assert run(services, parent.id) == RunOutcome.DEFERRED

    assert services.queue.queued == [parts[1].id, parts[2].id]
    assert len(parts_of(services, parent)) == 3
    assert services.jobs.get(parent.id).state == JobState.PROGRESS


def test_a_parent_run_again_after_its_parts_finished_unseen_records_its_outcome():
    services, parent = fanned_out(2)
    for part in parts_of(services, parent):
        run(services, part.id, kinds(services, finish_parent=False))
    assert services.jobs.get(parent.id).state == JobState.PROGRESS

    assert run(services, parent.id) == RunOutcome.DEFERRED

    assert services.jobs.get(parent.id).state == JobState.SUCCESS


def test_a_part_redelivered_after_it_finished_finishes_a_parent_left_waiting():
    services, parent = fanned_out(2)
    parts = parts_of(services, parent)
    run(services, parts[0].id)
    run(services, parts[1].id, kinds(services, finish_parent=False))

    assert run(services, parts[1].id) == RunOutcome.ALREADY_FINISHED

    assert services.jobs.get(parent.id).state == JobState.SUCCESS


def test_a_part_that_crashed_resumes_after_its_last_batch_with_exact_counts():
    services, parent = fanned_out(2)
    part = parts_of(services, parent)[1]
    params = part.params
    data = services.storage.blobs["hired_employees.csv"]
    (last,) = [r for r in plan_ranges(io.BytesIO(data), len(data), 2) if r.start == params["start"]]
    services.store.crash_before_commit = services.store.commits + 2

    def load() -> Any:
        return ingest_blob(
            services.store,
            services.storage,
            "hired_employees",
            "hired_employees.csv",
            part=last,
            job_id=parent.id,
            checkpoint_key=part_key("hired_employees", 1),
        )

    with pytest.raises(RuntimeError):
        load()
    services.store.crash_before_commit = None
    counts = load()

    assert counts.processed == last.lines
    assert services.store.load_checkpoint(parent.id, "hired_employees#1").counts == counts


class TakenOverAtTheSecondBatch(FakeJobRepository):
    """Another worker takes the job over (and commits that) while the job's second batch is being written."""

    database: FakeDatabase
    progress_reports = 0

    def report(self, job_id: str, worker: str, now: Any, progress: Any = None) -> Any:
        if progress is not None:
            TakenOverAtTheSecondBatch.progress_reports += 1
            if TakenOverAtTheSecondBatch.progress_reports == 2:
                self.database.jobs[job_id].worker = self.jobs[job_id].worker = "worker-b"
        return super().report(job_id, worker, now, progress)


def test_a_worker_that_lost_its_job_commits_nothing_of_the_batch_it_was_writing():
    services = Fakes(load_settings({}), FakeStorage({"departments.csv": departments_csv(3000)}))
    TakenOverAtTheSecondBatch.database = services.store
    services.store.job_repository = TakenOverAtTheSecondBatch  # type: ignore[misc]
    job = submit_ingest(services.store, services.queue, services.storage, {"departments": "departments.csv"})

    assert run(services, job.id) == RunOutcome.LEASE_LOST

    checkpoint = services.store.load_checkpoint(job.id, "departments")
    assert checkpoint is not None and checkpoint.position == 1000
    assert services.store.count_rows("departments") == 1000
    assert services.jobs.get(job.id).progress.rows_done == 1000
