"""Record windows (``?start=&limit=``) and batch summaries on fakes of our own ports: the window travels in the
job's command, survives a crash, keeps a load in one piece; every committed batch leaves one summary."""

from __future__ import annotations

import pytest

from core.ingest.batches import batch_summaries
from core.ingest.submit import root_sources, submit_ingest
from core.jobs.runner import RunOutcome
from domain.commands import IngestSources
from domain.loads import BatchSummary, RecordWindow, RejectedRow, TableCounts, record_id
from tests.batch_summaries import assert_batches_add_up, error_ids
from tests.unit.fakes import FakeDatabase
from tests.unit.test_ingest import departments_csv, load
from tests.unit.test_split_ingest import EMPLOYEES, kinds, parts_of, run, services_with

HEADER = ("id", "department")


def numbered(*payloads: object) -> list[tuple[int, object]]:
    return list(enumerate(payloads, start=1))


def is_header(record: tuple[int, object]) -> bool:
    return record[1] == list(HEADER)


def test_a_window_skips_start_records_and_takes_at_most_limit() -> None:
    records = numbered(*"abcdefg")

    assert [p for _, p in RecordWindow(2, 3).select(records)] == ["c", "d", "e"]
    assert [p for _, p in RecordWindow(5).select(records)] == ["f", "g"]
    assert [p for _, p in RecordWindow(0, 100).select(records)] == list("abcdefg")
    assert list(RecordWindow(7, 1).select(records)) == []


def test_the_header_line_is_not_a_record_of_the_window_and_still_reaches_the_loader() -> None:
    records = numbered(list(HEADER), "a", "b", "c")

    assert [p for _, p in RecordWindow(1, 1).select(records, is_header)] == [list(HEADER), "b"]
    assert [p for _, p in RecordWindow(1, 1).select(numbered("a", "b", "c"), is_header)] == ["b"]


@pytest.mark.parametrize(("start", "limit"), [(-1, None), (0, 0), (3, -2)])
def test_a_window_with_a_negative_start_or_no_room_is_refused(start: int, limit: int | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        RecordWindow(start, limit)


def test_the_window_travels_in_the_jobs_parameters_and_a_job_without_one_stores_what_it_always_did() -> None:
    sources = (("hired_employees", "hired_employees.csv"),)
    windowed = IngestSources(sources, RecordWindow(1000, 1000))

    assert windowed.to_params() == {"sources": dict(sources), "window": {"start": 1000, "limit": 1000}}
    assert IngestSources.from_params(windowed.to_params()) == windowed
    assert IngestSources(sources).to_params() == {"sources": dict(sources)}
    assert IngestSources.from_params({"sources": dict(sources)}).window is None


def test_a_windowed_load_that_crashed_resumes_with_the_same_window_and_exact_counts() -> None:
    store = FakeDatabase()
    data = b"id,department\n" + departments_csv(5000)
    window = RecordWindow(1200, 2500)
    store.crash_before_commit = 2
    with pytest.raises(RuntimeError):
        load(store, "departments", data, job_id="job-1", window=window)
    assert sorted(store.tables["departments"]) == list(range(1201, 2201))

    store.crash_before_commit = None
    counts = load(store, "departments", data, job_id="job-1", window=window)

    assert counts.as_dict() == {"processed": 2500, "inserted": 2500, "already_exists": 0, "rejected": 0}
    assert sorted(store.tables["departments"]) == list(range(1201, 3701))


def test_a_windowed_job_runs_whole_even_when_large_files_are_split_between_workers() -> None:
    services = services_with(3)
    job = submit_ingest(services.store, services.queue, services.storage, root_sources(), window=RecordWindow(0, 2000))

    assert run(services, job.id, kinds(services)) == RunOutcome.FINISHED

    done = services.jobs.get(job.id)
    assert parts_of(services, job) == []
    assert done.result["tables"]["hired_employees"]["processed"] == 2000
    assert_batches_add_up(done.result)


def test_every_batch_of_a_job_leaves_one_summary_whose_ids_are_the_rejected_rows_in_file_order() -> None:
    services = services_with(1)
    job = submit_ingest(services.store, services.queue, services.storage, root_sources())

    assert run(services, job.id, kinds(services)) == RunOutcome.FINISHED

    result = services.jobs.get(job.id).result
    assert result["batches"]["hired_employees"]["total"] == EMPLOYEES // 1000 + 1
    assert_batches_add_up(result)
    rejected = sorted(
        (row for row in services.store.rejected if row.table == "hired_employees"), key=lambda r: r.position
    )
    assert error_ids(result, "hired_employees") == [record_id(row.raw) for row in rejected]


def test_a_job_shows_only_its_first_batches_and_counts_them_all() -> None:
    services = services_with(1)
    job = submit_ingest(services.store, services.queue, services.storage, root_sources())
    run(services, job.id, kinds(services))

    with services.store() as tx:
        shown = batch_summaries(tx, job.id, {"hired_employees": ["hired_employees"]}, shown=2)

    assert shown["hired_employees"]["total"] == 5
    assert (
        shown["hired_employees"]["items"] == services.jobs.get(job.id).result["batches"]["hired_employees"]["items"][:2]
    )


def test_a_batch_summary_lists_the_ids_of_its_rejected_rows_and_none_where_a_row_has_no_readable_id() -> None:
    rows = [
        RejectedRow("jobs", "f.csv", 9, "9,", []),
        RejectedRow("jobs", "f.csv", 3, ",Clerk", []),
        RejectedRow("jobs", "f.csv", 5, '"5 ",x,y', []),
    ]

    summary = BatchSummary.of(TableCounts(processed=10, inserted=7, rejected=3), rows)

    assert summary.as_dict() == {
        "processed": 10,
        "inserted": 7,
        "already_exists": 0,
        "errors": 3,
        "error_ids": [None, 5, 9],
    }
