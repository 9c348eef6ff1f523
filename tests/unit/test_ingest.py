"""The loader use case on a fake store: batching, duplicates, references, checkpoints."""

from __future__ import annotations

import io
from typing import IO, Any

import pytest

from core.ingest.loader import BATCH_SIZE, LoadReporter, ingest_blob, insert_records
from core.storage import BlobInfo, BlobStorage
from core.unit_of_work import UnitOfWork
from domain.background_jobs import Cancelled
from domain.errors import BatchTooLarge, EmptyBatch, SourceNotFound
from domain.loads import TableCounts
from tests.unit.fakes import FakeDatabase


class FakeStorage(BlobStorage):
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs

    def open(self, name: str) -> IO[bytes]:
        if name not in self.blobs:
            raise SourceNotFound(name)
        return io.BytesIO(self.blobs[name])

    def open_range(self, name: str, start: int, end: int) -> IO[bytes]:
        return io.BytesIO(self.open(name).read()[start:end])

    def write(self, name: str, data: IO[bytes] | bytes) -> int:
        self.blobs[name] = data if isinstance(data, bytes) else data.read()
        return len(self.blobs[name])

    def size(self, name: str) -> int | None:
        return len(self.blobs[name]) if name in self.blobs else None

    def list(self, prefix: str = "") -> list[BlobInfo]:
        return [BlobInfo(n, len(b)) for n, b in sorted(self.blobs.items()) if n.startswith(prefix)]

    def delete(self, name: str) -> None:
        self.blobs.pop(name, None)

    def check(self) -> None:
        return None


def departments_csv(count: int, start: int = 1) -> bytes:
    return "".join(f"{i},Department {i}\n" for i in range(start, start + count)).encode()


class Reporter(LoadReporter):
    """Calls ``on_progress(table, counts, done, size)`` after each batch; stops the load when ``should_stop()`` says."""

    def __init__(self, on_progress: Any = None, should_stop: Any = None) -> None:
        self.on_progress = on_progress
        self.stop = should_stop

    def loaded(self, uow: UnitOfWork, table: str, counts: TableCounts, done: int, size: int | None) -> None:
        if self.on_progress:
            self.on_progress(table, counts, done, size)

    def should_stop(self) -> bool:
        return bool(self.stop and self.stop())


def load(  # type: ignore[no-untyped-def]
    store: FakeDatabase, table: str, data: bytes, *, on_progress: Any = None, should_stop: Any = None, **options: Any
):
    reporter = Reporter(on_progress, should_stop)
    return ingest_blob(store, FakeStorage({"f.csv": data}), table, "f.csv", reporter=reporter, **options)


def test_rows_are_written_in_transactions_of_1000() -> None:
    store = FakeDatabase()
    counts = load(store, "departments", departments_csv(2500))
    assert counts.inserted == 2500
    assert store.commits == 3
    assert BATCH_SIZE == 1000


def test_a_header_line_is_skipped_not_rejected() -> None:
    store = FakeDatabase()
    counts = load(store, "departments", b"id,department\n1,Sales\n")
    assert counts.as_dict() == {"processed": 1, "inserted": 1, "already_exists": 0, "rejected": 0}


def test_loading_the_same_file_twice_inserts_nothing_the_second_time() -> None:
    store = FakeDatabase()
    load(store, "departments", departments_csv(10))
    again = load(store, "departments", departments_csv(10))
    assert again.as_dict() == {"processed": 10, "inserted": 0, "already_exists": 10, "rejected": 0}


def test_an_existing_id_with_different_content_is_a_conflict_and_is_not_overwritten() -> None:
    store = FakeDatabase()
    load(store, "departments", b"1,Sales\n")
    counts = load(store, "departments", b"1,Marketing\n")
    assert counts.rejected == 1
    assert store.tables["departments"][1] == (1, "Sales")
    assert [r.code for r in store.rejected[-1].reasons] == ["conflict"]


def test_a_repeated_id_inside_one_file_keeps_the_first_and_rejects_a_different_second() -> None:
    store = FakeDatabase()
    counts = load(store, "departments", b"1,Sales\n1,Sales\n1,Legal\n")
    assert counts.as_dict() == {"processed": 3, "inserted": 1, "already_exists": 1, "rejected": 1}
    assert store.rejected[0].position == 3


def test_an_employee_pointing_at_a_missing_department_or_job_is_rejected_naming_both() -> None:
    store = FakeDatabase()
    load(store, "departments", b"1,Sales\n")
    load(store, "jobs", b"1,Engineer\n")
    counts = load(store, "hired_employees", b"1,Ana,2021-01-01T00:00:00Z,1,1\n2,Bo,2021-01-01T00:00:00Z,9,8\n")
    assert (counts.inserted, counts.rejected) == (1, 1)
    reasons = store.rejected[0].reasons
    assert [(r.code, r.field) for r in reasons] == [
        ("unknown_reference", "department_id"),
        ("unknown_reference", "job_id"),
    ]


def test_a_rejected_row_is_logged_with_its_line_source_and_raw_record() -> None:
    store = FakeDatabase()
    load(store, "departments", b"1,Sales\n2,\n", job_id="job-1")
    [row] = store.rejected
    assert (row.table, row.source, row.position, row.raw, row.job_id) == ("departments", "f.csv", 2, "2,", "job-1")


def test_a_crashed_job_resumes_after_its_last_committed_batch_with_exact_counts() -> None:
    store = FakeDatabase()
    store.crash_before_commit = 2
    with pytest.raises(RuntimeError):
        load(store, "departments", departments_csv(2500), job_id="job-1")
    assert len(store.tables["departments"]) == 1000
    store.crash_before_commit = None
    counts = load(store, "departments", departments_csv(2500), job_id="job-1")
    assert counts.as_dict() == {"processed": 2500, "inserted": 2500, "already_exists": 0, "rejected": 0}


def test_a_cancelled_job_stops_between_batches() -> None:
    store = FakeDatabase()
    with pytest.raises(Cancelled):
        load(store, "departments", departments_csv(3000), should_stop=lambda: True)
    assert len(store.tables["departments"]) == 1000


def test_progress_is_reported_after_each_batch_with_bytes_read() -> None:
    store = FakeDatabase()
    seen: list[tuple[int, int, int | None]] = []
    data = departments_csv(2500)
    load(store, "departments", data, on_progress=lambda _t, c, done, total: seen.append((c.processed, done, total)))
    assert [s[0] for s in seen] == [1000, 2000, 2500]
    assert seen[-1][1:] == (len(data), len(data))


def test_a_request_batch_must_hold_1_to_1000_rows() -> None:
    store = FakeDatabase()
    with pytest.raises(EmptyBatch):
        insert_records(store, "jobs", [])
    with pytest.raises(BatchTooLarge):
        insert_records(store, "jobs", [(i, {"id": i, "job": "x"}) for i in range(1, 1002)])
    assert store.commits == 0


def test_valid_rows_of_a_request_land_beside_rejected_ones() -> None:
    store = FakeDatabase()
    result = insert_records(store, "jobs", [(1, {"id": 1, "job": "Engineer"}), (2, {"id": 2, "job": None})])
    assert (result.counts.inserted, result.counts.rejected) == (1, 1)
    assert store.tables["jobs"] == {1: (1, "Engineer")}
