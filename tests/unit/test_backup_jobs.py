from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bootstrap import job_handlers
from core.backup.back_up import backup_tables
from core.backup.catalogue import list_backups
from core.backup.ports import BackupFormat
from core.backup.submit import submit_backup, submit_restore, submit_scheduled_backup
from core.ingest.handlers import Splitting
from core.jobs.runner import run_job
from core.storage import BlobStorage
from domain.background_jobs import JobProgress, JobState, Lease
from domain.errors import BackupNotFound, InvalidBackupId, InvalidRequest, UnknownTable
from infra.avro.format import AvroBackupFormat
from infra.storage.local import LocalFolderStorage
from tests.job_fakes import FakeJobQueue, FakeJobRepository
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

HIRED = datetime(2021, 11, 7, 2, 48, 42)
MANY_JOBS = 12_000


def small_company() -> FakeDatabase:
    return FakeDatabase(
        departments=[(1, "Sales"), (2, "Legal")],
        jobs=[(1, "Recruiter"), (2, "Editor")],
        hired_employees=[(1, "Ana Silva", HIRED, 1, 2), (2, "Bruno Rossi", HIRED, 2, 1)],
    )


@dataclass
class Fakes:
    """The fake adapters backup and restore jobs run on; ``archive`` and ``jobs`` are the same fake."""

    archive: FakeDatabase
    storage: BlobStorage
    backup_format: BackupFormat = field(default_factory=AvroBackupFormat)
    queue: FakeJobQueue = field(default_factory=FakeJobQueue)

    @property
    def jobs(self) -> FakeDatabase:
        return self.archive

    def run_queued(self) -> None:
        handlers = job_handlers(
            {
                "uow": self.archive,
                "snapshots": self.archive,
                "single_writer": self.archive.single_writer,
                "storage": self.storage,
                "queue": self.queue,
                "backup_format": self.backup_format,
                "splitting": Splitting(1, 1),
            }
        )
        while self.queue.queued:
            job_id = self.queue.queued.pop(0)
            run_job(self.archive, handlers, job_id, worker="test-worker", lease_seconds=30)

    def progress_reports(self) -> list[JobProgress]:
        return [progress for _, progress in self.archive.reports if progress is not None]


@pytest.fixture
def services(tmp_path: Path) -> Fakes:
    return Fakes(small_company(), LocalFolderStorage(tmp_path))


def test_a_backup_job_lists_each_backup_made_with_its_rows(services: Fakes) -> None:
    job = submit_backup(services.archive, services.queue)
    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.SUCCESS, done
    assert [(b["table"], b["rows"]) for b in done.result["backups"]] == [
        ("departments", 2),
        ("jobs", 2),
        ("hired_employees", 2),
    ]
    assert done.result["rows"] == 6 and done.result["pruned"] == []
    assert {b["id"] for b in done.result["backups"]} == {b.id for b in list_backups(services.storage)}
    assert done.progress.percent == 100.0
    assert done.progress.counts["hired_employees"] == {"rows": 2, "backed_up": 2}


def test_a_backup_job_reports_progress_after_every_chunk(services: Fakes) -> None:
    services.archive = FakeDatabase(jobs=[(i, f"Job {i}") for i in range(1, MANY_JOBS + 1)])
    submit_backup(services.archive, services.queue, ["jobs"])
    services.run_queued()

    reports = services.progress_reports()
    assert [p.rows_done for p in reports] == [0, 5000, 10_000, 12_000]
    assert all(p.rows_total == MANY_JOBS for p in reports)
    assert [p.percent for p in reports] == sorted(p.percent for p in reports)
    assert reports[1].counts == {"jobs": {"rows": MANY_JOBS, "backed_up": 5000}}


def test_a_backup_job_asked_to_keep_n_prunes_older_backups_after(services: Fakes) -> None:
    for _ in range(3):
        backup_tables(services.archive, services.storage, services.backup_format)
    job = submit_backup(services.archive, services.queue, ["jobs"], keep=2)
    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.SUCCESS
    assert len(done.result["pruned"]) == 2
    assert len(list_backups(services.storage, "jobs")) == 2
    assert len(list_backups(services.storage, "departments")) == 3


def test_the_scheduled_backup_backs_up_every_table_and_keeps_the_newest_n(services: Fakes) -> None:
    for _ in range(3):
        submit_scheduled_backup(services.jobs, services.queue, keep=2)
        services.run_queued()
    assert {t: len(list_backups(services.storage, t)) for t in services.archive.tables} == {
        "departments": 2,
        "jobs": 2,
        "hired_employees": 2,
    }


def test_the_backup_tables_are_recorded_in_load_order(services: Fakes) -> None:
    job = submit_backup(services.archive, services.queue, ["hired_employees", "departments"])
    assert job.params == {"tables": ["departments", "hired_employees"]}


@pytest.mark.parametrize(
    ("tables", "error"), [(["employees"], UnknownTable), ([], InvalidRequest)], ids=["unknown", "none"]
)
def test_a_backup_of_no_or_unknown_tables_is_refused_before_queueing(
    services: Fakes, tables: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        submit_backup(services.archive, services.queue, tables)
    assert services.queue.queued == [] and services.jobs.jobs == {}


def test_a_restore_records_the_backup_that_was_newest_when_it_was_asked(services: Fakes) -> None:
    backup_tables(services.archive, services.storage, services.backup_format, ["jobs"])
    [newest] = backup_tables(services.archive, services.storage, services.backup_format, ["jobs"])
    job = submit_restore(services.jobs, services.queue, services.storage, ["jobs"])
    assert job.params == {"backups": {"jobs": newest.id}}


def test_a_restore_job_replaces_the_tables_and_lists_them_with_their_rows(services: Fakes) -> None:
    made = backup_tables(services.archive, services.storage, services.backup_format)
    original = {table: services.archive.rows(table) for table in services.archive.tables}
    services.archive.tables["hired_employees"].pop(1)
    services.archive.tables["jobs"][2] = (2, "Changed")

    job = submit_restore(
        services.jobs,
        services.queue,
        services.storage,
        ["departments", "jobs", "hired_employees"],
    )
    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.SUCCESS, done
    assert done.result == {
        "tables": [
            {
                "table": info.table,
                "backup_id": info.id,
                "rows": 2,
                "rows_before": 1 if info.table == "hired_employees" else 2,
            }
            for info in made
        ],
        "rows": 6,
    }
    assert {table: services.archive.rows(table) for table in services.archive.tables} == original
    assert done.progress.counts["jobs"] == {"rows": 2, "verified": 2, "restored": 2}
    assert [p.percent for p in services.progress_reports()][-1] == 100.0


@pytest.mark.parametrize(
    ("backups", "error"),
    [
        ({"jobs": "19990101T000000000000Z"}, BackupNotFound),
        ({"jobs": "../departments/19990101T000000000000Z"}, InvalidBackupId),
        ({"departments": None}, BackupNotFound),
        ({"employees": None}, UnknownTable),
        ({}, InvalidRequest),
    ],
    ids=["unknown-id", "path-in-id", "never-backed-up", "unknown-table", "no-table"],
)
def test_a_restore_that_names_no_usable_backup_is_refused_before_queueing(
    services: Fakes, backups: dict[str, Any], error: type[Exception]
) -> None:
    backup_tables(services.archive, services.storage, services.backup_format, ["jobs"])
    with pytest.raises(error):
        submit_restore(services.jobs, services.queue, services.storage, backups)
    assert services.queue.queued == [] and services.jobs.jobs == {}


def test_a_restore_job_that_fails_its_checks_fails_with_the_reason_and_changes_nothing(
    services: Fakes,
) -> None:
    [info] = backup_tables(services.archive, services.storage, services.backup_format, ["jobs"])
    job = submit_restore(services.jobs, services.queue, services.storage, ["jobs"])
    with services.storage.open(info.data_name) as stream:
        data = stream.read()
    services.storage.write(info.data_name, data[:-10])
    services.archive.tables["jobs"][2] = (2, "Changed")
    before = services.archive.tables

    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.FAILURE
    assert "does not match its checksum" in (done.error or "")
    assert services.archive.tables is before


class CancellingJobs(FakeJobRepository):
    """Someone cancels the job as soon as it reports its first progress."""

    def report(self, job_id: str, worker: str, now: datetime, progress: JobProgress | None = None) -> Lease:
        if progress is not None:
            self.jobs[job_id].cancel_requested = True
        return super().report(job_id, worker, now, progress)


def test_a_cancelled_restore_stops_and_changes_nothing(services: Fakes) -> None:
    backup_tables(services.archive, services.storage, services.backup_format)
    services.archive.job_repository = CancellingJobs  # type: ignore[misc]
    services.archive.tables["jobs"][2] = (2, "Changed")
    before = services.archive.tables
    job = submit_restore(services.jobs, services.queue, services.storage, ["jobs"])

    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.CANCELLED
    assert services.archive.tables is before


def test_a_cancelled_backup_stops_between_chunks_and_saves_no_backup(services: Fakes) -> None:
    services.archive = FakeDatabase(jobs=[(i, f"Job {i}") for i in range(1, MANY_JOBS + 1)])
    services.archive.job_repository = CancellingJobs  # type: ignore[misc]
    job = submit_backup(services.archive, services.queue, ["jobs"])

    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.CANCELLED
    assert list_backups(services.storage) == []


class SingleWriterDatabase(FakeDatabase):
    """Like SQLite: while a unit of work that locked tables is open, no other may write, progress included."""

    single_writer = True

    def __init__(self, **tables: Any) -> None:
        super().__init__(**tables)
        self.writes_while_replacing = 0

    def published(self, uow: FakeUnitOfWork) -> None:
        if self.locked_by not in (None, uow) and uow.jobs.reports:
            self.writes_while_replacing += 1


def test_on_a_single_writer_database_a_restore_records_its_progress_only_outside_its_transaction(
    services: Fakes,
) -> None:
    archive = SingleWriterDatabase(jobs=[(i, f"Job {i}") for i in range(1, MANY_JOBS + 1)])
    services.archive = archive
    backup_tables(archive, services.storage, services.backup_format, ["jobs"])
    job = submit_restore(services.jobs, services.queue, services.storage, ["jobs"])

    services.run_queued()

    done = services.jobs.get(job.id)
    assert done is not None and done.state == JobState.SUCCESS, done
    assert archive.writes_while_replacing == 0
    assert done.progress.counts["jobs"] == {"rows": MANY_JOBS, "verified": MANY_JOBS, "restored": MANY_JOBS}
