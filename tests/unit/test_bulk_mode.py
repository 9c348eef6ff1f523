"""Bulk mode on the fakes: when a load drops its table's secondary indexes, and that they always come back."""

from __future__ import annotations

import pytest

from core.ingest.loader import BULK_MIN_ROWS, BULK_SHARE, bulk_mode, ingest_blob
from domain.background_jobs import Cancelled
from domain.loads import Checkpoint
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork
from tests.unit.test_ingest import FakeStorage, Reporter, departments_csv

LARGE = BULK_MIN_ROWS + 2500


class WatchedDatabase(FakeDatabase):
    """Notes, at each commit, whether the departments' indexes are dropped and what the checkpoint says."""

    def __init__(self) -> None:
        super().__init__()
        self.at_commits: list[tuple[bool, bool | None]] = []

    def published(self, uow: FakeUnitOfWork) -> None:
        saved = uow.saved.get(("job-1", "departments"))
        self.at_commits.append(("departments" in uow.indexes_dropped, saved.indexes_pending if saved else None))


def load(store: FakeDatabase, rows: int, job_id: str | None = "job-1", **options: object) -> None:
    storage = FakeStorage({"d.csv": departments_csv(rows)})
    ingest_blob(store, storage, "departments", "d.csv", job_id=job_id, **options)  # type: ignore[arg-type]


def test_a_load_is_bulk_when_it_is_large_and_large_against_its_table() -> None:
    assert bulk_mode(BULK_MIN_ROWS, 0)
    assert not bulk_mode(BULK_MIN_ROWS - 1, 0)
    assert bulk_mode(1_000_000, 0)
    assert bulk_mode(1_000_000 // BULK_SHARE, 1_000_000)
    assert not bulk_mode(1_000_000 // BULK_SHARE - 1, 1_000_000)
    assert not bulk_mode(100_000, 5_000_000)


def test_a_large_load_drops_the_indexes_with_its_first_batch_and_builds_them_with_its_last() -> None:
    store = WatchedDatabase()
    load(store, LARGE)

    assert store.at_commits[0] == (True, True)
    assert all(commit == (True, True) for commit in store.at_commits[1:-1])
    assert store.at_commits[-1] == (False, False)
    assert len(store.at_commits) == -(-LARGE // 1000)
    assert store.log.count(("drop_secondary", "departments")) == 1
    assert store.log[-2:] == [("build_secondary", "departments"), ("analyze", "departments")]
    assert len(store.tables["departments"]) == LARGE


def test_a_small_load_keeps_the_indexes_and_ends_with_fresh_statistics() -> None:
    store = WatchedDatabase()
    load(store, 2500)

    assert ("drop_secondary", "departments") not in store.log
    assert store.log[-1] == ("analyze", "departments")
    assert store.at_commits == [(False, False)] * 3


def test_a_large_load_into_a_much_larger_table_keeps_the_indexes() -> None:
    store = WatchedDatabase()
    store.tables["departments"] = {i: (i, f"Old {i}") for i in range(10**7, 10**7 + 2 * BULK_SHARE * LARGE)}
    load(store, LARGE)

    assert ("drop_secondary", "departments") not in store.log


def test_a_load_without_a_job_has_no_checkpoint_to_record_it_so_keeps_the_indexes() -> None:
    store = FakeDatabase()
    load(store, LARGE, job_id=None)

    assert ("drop_secondary", "departments") not in store.log
    assert store.log[-1] == ("analyze", "departments")


def test_a_bulk_load_that_crashed_resumes_in_bulk_mode_and_builds_the_indexes_at_its_end() -> None:
    store = FakeDatabase()
    store.crash_before_commit = 5
    with pytest.raises(RuntimeError):
        load(store, LARGE)
    checkpoint = store.checkpoints[("job-1", "departments")]
    assert (checkpoint.position, checkpoint.indexes_pending) == (4000, True)
    assert store.indexes_dropped == {"departments"}

    store.crash_before_commit = None
    load(store, LARGE)

    assert store.indexes_dropped == set()
    assert store.checkpoints[("job-1", "departments")] == Checkpoint(
        LARGE, store.checkpoints["job-1", "departments"].counts
    )
    assert store.checkpoints[("job-1", "departments")].counts.inserted == LARGE
    assert sorted(store.tables["departments"]) == list(range(1, LARGE + 1))


def test_a_cancelled_bulk_load_builds_its_indexes_before_it_stops() -> None:
    store = FakeDatabase()
    batches: list[int] = []
    reporter = Reporter(on_progress=lambda *_: batches.append(1), should_stop=lambda: len(batches) >= 3)
    with pytest.raises(Cancelled):
        load(store, LARGE, reporter=reporter)

    assert store.indexes_dropped == set()
    assert store.log[-2:] == [("build_secondary", "departments"), ("analyze", "departments")]
    assert len(store.tables["departments"]) == 3000
