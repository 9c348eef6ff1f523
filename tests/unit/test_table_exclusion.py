"""Which jobs keep a restore waiting, and which a restore keeps waiting, on fakes of our own ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.jobs.exclusion import BATCH, admit, check_alone, check_free, tables_written
from domain.background_jobs import BackgroundJob, JobState
from domain.errors import TableBusy
from tests.unit.fakes import FakeDatabase

START = datetime(2026, 11, 22, 3, 15, tzinfo=UTC)


def job(kind: str, number: int, state: JobState = JobState.PENDING, **params: Any) -> BackgroundJob:
    return BackgroundJob(
        id=f"{kind}-{number}", kind=kind, params=params, state=state, created_at=START + timedelta(seconds=number)
    )


def restore(number: int, *tables: str, state: JobState = JobState.PENDING) -> BackgroundJob:
    return job("restore", number, state, backups=dict.fromkeys(tables))


def ingest(number: int, *tables: str, state: JobState = JobState.PENDING) -> BackgroundJob:
    return job("ingest", number, state, sources={t: f"{t}.csv" for t in tables})


def part(number: int, table: str) -> BackgroundJob:
    return job("ingest_part", number, table=table, parent="ingest-0", part=0, parts=2)


def admitting(database: FakeDatabase) -> Callable[[BackgroundJob], None]:
    def add(job: BackgroundJob) -> None:
        with database() as tx:
            admit(tx, job)
            tx.commit()

    return add


@pytest.fixture
def admission() -> FakeDatabase:
    return FakeDatabase()


def test_each_kind_of_job_names_the_tables_it_writes():
    assert tables_written("ingest", {"sources": {"jobs": "a.csv", "departments": "b.csv"}}) == {"jobs", "departments"}
    assert tables_written("ingest_part", {"table": "hired_employees"}) == {"hired_employees"}
    assert tables_written("restore", {"backups": {"jobs": None}}) == {"jobs"}
    assert tables_written("backup", {"tables": ["jobs"]}) == frozenset()


@pytest.mark.parametrize(
    "writer", [ingest(1, "jobs", "departments"), part(1, "jobs"), restore(1, "jobs", "departments")]
)
def test_a_restore_is_refused_while_any_writer_of_one_of_its_tables_is_unfinished(admission, writer):
    admission.add(writer)

    with pytest.raises(TableBusy) as refused:
        admitting(admission)(restore(2, "jobs", "hired_employees"))

    assert refused.value.details == {"task_id": writer.id, "kind": writer.kind, "state": "PENDING", "tables": ["jobs"]}
    assert admission.jobs.get("restore-2") is None


def test_an_ingest_is_refused_while_a_restore_of_one_of_its_tables_is_unfinished(admission):
    admitting(admission)(restore(1, "jobs", "departments"))

    with pytest.raises(TableBusy, match="^departments and jobs are being restored by task restore-1 "):
        admitting(admission)(ingest(2, "departments", "jobs", "hired_employees"))


def test_ingests_of_one_table_and_backups_run_side_by_side_and_a_finished_job_is_in_nobodys_way(admission):
    add = admitting(admission)
    add(ingest(1, "jobs"))
    add(ingest(2, "jobs"))
    add(job("backup", 3, tables=["jobs"]))
    admission.finish("ingest-1", JobState.SUCCESS, START)
    admission.finish("ingest-2", JobState.FAILURE, START)

    add(restore(4, "jobs"))

    assert admission.jobs.get("restore-4") is not None


def test_a_batch_is_refused_only_while_its_own_table_is_being_restored(admission):
    admitting(admission)(restore(1, "jobs"))
    admitting(admission)(ingest(2, "departments"))

    check_free(admission, BATCH, ["departments"])
    with pytest.raises(TableBusy, match="^jobs is being restored by task restore-1 \\(restore, PENDING\\)"):
        check_free(admission, BATCH, ["jobs"])


def test_a_job_started_yields_to_an_earlier_unfinished_job_in_its_way(admission):
    admission.add(ingest(1, "jobs"))
    admission.add(restore(2, "jobs"))

    check_alone(admission, "ingest-1", "ingest", ingest(1, "jobs").params)
    with pytest.raises(TableBusy, match="task ingest-1 \\(ingest, PENDING\\)"):
        check_alone(admission, "restore-2", "restore", restore(2, "jobs").params)


def test_a_job_started_yields_to_a_later_job_in_its_way_that_already_runs(admission):
    admission.add(restore(1, "jobs"))
    admission.add(ingest(2, "jobs", state=JobState.PROGRESS))

    with pytest.raises(TableBusy, match="task ingest-2 \\(ingest, PROGRESS\\)"):
        check_alone(admission, "restore-1", "restore", restore(1, "jobs").params)
