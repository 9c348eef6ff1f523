"""Hand-written fakes of our own ports: one fake database, and the unit of work that opens on it."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from core.backup.ports import TableSnapshot, TableSnapshots
from core.ingest.ports import BatchSummaries, Checkpoints, Rejections
from core.unit_of_work import HiringRows, Missing, StagedRows, UnitOfWork, WriteConflict
from domain.background_jobs import BackgroundJob, JobProgress
from domain.entities import TABLES
from domain.loads import BatchSummary, Checkpoint, RejectedRow, TableCounts
from tests.job_fakes import CommittedJobs, FakeJobRepository

Rows = dict[int, tuple[Any, ...]]


class FakeDatabase(TableSnapshots):
    """The committed state: every table as a dict of rows by id, the rejected rows, the checkpoints and the jobs.

    Calling it opens a ``FakeUnitOfWork``, which works on a copy and publishes what it changed on
    ``commit()``. ``crash_before_commit = n`` makes the n-th commit from now on fail. The job methods
    (``get``, ``claim``...) each run in a unit of work of their own, for tests to set up and read jobs.
    """

    job_repository = FakeJobRepository
    single_writer = False

    def __init__(self, **tables: list[tuple[Any, ...]]) -> None:
        self.tables: dict[str, Rows] = {name: {row[0]: row for row in tables.get(name, [])} for name in TABLES}
        self.rejected: list[RejectedRow] = []
        self.checkpoints: dict[tuple[str, str], Checkpoint] = {}
        self.batches: dict[tuple[str, str], list[BatchSummary]] = {}
        self.indexes_dropped: set[str] = set()
        self.jobs: dict[str, BackgroundJob] = {}
        self.reports: list[tuple[str, JobProgress | None]] = []
        self.log: list[tuple[str, str]] = []
        self.commits = 0
        self.crash_before_commit: int | None = None
        self.locked_by: FakeUnitOfWork | None = None
        self.turn = threading.Lock()
        self._jobs = CommittedJobs(self)

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return [self.tables[table][i] for i in sorted(self.tables[table])]

    def count_rows(self, table: str) -> int:
        return len(self.tables[table])

    def load_checkpoint(self, job_id: str, key: str) -> Checkpoint | None:
        return self.checkpoints.get((job_id, key))

    @contextmanager
    def snapshot(self, table: str) -> Iterator[TableSnapshot]:
        yield FakeSnapshot(self.rows(table))

    def published(self, uow: FakeUnitOfWork) -> None:
        """Called as ``uow`` commits, before its changes are published; a test's database may watch it."""

    def get(self, job_id: str) -> BackgroundJob | None:
        return self._jobs.get(job_id)  # type: ignore[no-any-return]

    def add(self, job: BackgroundJob) -> None:
        self._jobs.add(job)

    def __getattr__(self, name: str) -> Any:
        if name in ("claim", "report", "finish", "request_cancel", "stale", "unclaimed", "requeue", "newest"):
            return getattr(self._jobs, name)
        raise AttributeError(name)


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, database: FakeDatabase) -> None:
        self.database = database
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        db = self.database
        self.tables = {name: dict(rows) for name, rows in db.tables.items()}
        self.touched: set[str] = set()
        self.new_rejections: list[RejectedRow] = []
        self.saved: dict[tuple[str, str], Checkpoint] = {}
        self.new_batches: dict[tuple[str, str], list[BatchSummary]] = {}
        self.indexes_dropped = set(db.indexes_dropped)
        self.jobs_before = {job_id: dataclasses.replace(job) for job_id, job in db.jobs.items()}
        self.working_jobs = {job_id: dataclasses.replace(job) for job_id, job in db.jobs.items()}
        self.holds_turn = False
        # A restore drops indexes inside its one transaction and must build them before it commits.
        self.restore_dropped: set[str] = set()
        self.rows = FakeHiringRows(self)
        self.rejections = FakeRejections(self)
        self.checkpoints = FakeCheckpoints(self)
        self.batches = FakeBatchSummaries(self)
        self.jobs = db.job_repository(self.working_jobs, self._take_turn)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.database.locked_by is self:
            self.database.locked_by = None
        if self.holds_turn:
            self.database.turn.release()

    def _take_turn(self) -> None:
        self.database.turn.acquire()
        self.holds_turn = True

    def commit(self) -> None:
        db = self.database
        if db.crash_before_commit == db.commits + 1:
            raise RuntimeError("simulated crash before this commit")
        assert not self.restore_dropped, f"committing without the indexes of {sorted(self.restore_dropped)}"
        db.published(self)
        if self.touched:
            db.tables = {**db.tables, **{name: self.tables[name] for name in self.touched}}
        db.rejected.extend(self.new_rejections)
        db.checkpoints.update(self.saved)
        for key, added in self.new_batches.items():
            db.batches[key] = [*db.batches.get(key, []), *added]
        db.indexes_dropped = self.indexes_dropped
        changed = {job_id: job for job_id, job in self.working_jobs.items() if self.jobs_before.get(job_id) != job}
        db.jobs.update(changed)
        db.reports.extend(self.jobs.reports)
        db.commits += 1
        self.committed = True

    def rollback(self) -> None:
        return None


class FakeHiringRows(HiringRows):
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.log = uow.database.log

    def _table(self, table: str) -> Rows:
        self.uow.touched.add(table)
        return self.uow.tables[table]

    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        rows = self.uow.tables[table]
        return {i: rows[i] for i in ids if i in rows}

    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        return {i for i in ids if i in self.uow.tables[table]}

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]] | StagedRows) -> None:
        assert not isinstance(rows, StagedRows) or isinstance(rows, FakeStagedRows)
        self.log.append(("insert", table))
        stored = self._table(table)
        for row in rows:
            if row[0] in stored:
                raise WriteConflict(f"{table} id {row[0]} exists")
            stored[row[0]] = tuple(row)

    def count(self, table: str) -> int:
        return len(self.uow.tables[table])

    def lock(self, tables: Collection[str], *, references_checked: bool = False) -> None:
        self.uow.database.locked_by = self.uow

    def delete_all(self, table: str) -> None:
        self.log.append(("delete_all", table))
        self._table(table).clear()

    def drop_secondary_indexes(self, table: str) -> None:
        self.uow.restore_dropped.add(table)

    def build_secondary_indexes(self, table: str) -> None:
        self.uow.restore_dropped.discard(table)

    def stage(self, table: str) -> FakeStagedRows:
        return FakeStagedRows(table, self.uow.tables)

    def orphans(self, table: str, column: str, parent: StagedRows, limit: int) -> Missing:
        assert isinstance(parent, FakeStagedRows)
        index = TABLES[table].column_names.index(column)
        return _missing({row[index] for row in self.uow.tables[table].values()} - parent.ids(), limit)

    def merge(self, table: str, rows: StagedRows) -> None:
        assert isinstance(rows, FakeStagedRows)
        self.log.append(("merge", table))
        stored = self._table(table)
        stored.clear()
        stored.update((row[0], row) for row in rows)

    def drop_secondary(self, table: str) -> None:
        self.log.append(("drop_secondary", table))
        self.uow.indexes_dropped.add(table)

    def build_secondary(self, table: str) -> None:
        self.log.append(("build_secondary", table))
        self.uow.indexes_dropped.discard(table)

    def analyze(self, table: str) -> None:
        self.log.append(("analyze", table))


class FakeStagedRows(StagedRows, list[tuple[Any, ...]]):
    """Staged rows are a list, in the order they were added."""

    def __init__(self, table: str, tables: dict[str, Rows]) -> None:
        super().__init__()
        self.table = table
        self.tables = tables

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.extend(tuple(row) for row in rows)

    def ids(self) -> set[int]:
        return {row[0] for row in self}

    def repeated_id(self) -> int | None:
        return min((i for i, n in Counter(row[0] for row in self).items() if n > 1), default=None)

    def missing(self, column: str, parent: StagedRows | None, limit: int) -> Missing:
        index = TABLES[self.table].column_names.index(column)
        target = TABLES[self.table].columns[index].references or ""
        available = parent.ids() if isinstance(parent, FakeStagedRows) else set(self.tables[target])
        return _missing({row[index] for row in self} - available, limit)


def _missing(ids: set[int], limit: int) -> Missing:
    return Missing(sorted(ids)[:limit], len(ids))


class FakeRejections(Rejections):
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def add(self, rows: Sequence[RejectedRow]) -> None:
        self.uow.new_rejections.extend(rows)

    def page(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        rows = [*self.uow.database.rejected, *self.uow.new_rejections]
        return [r.__dict__ for r in rows if r.job_id == job_id][offset:][:limit]


class FakeCheckpoints(Checkpoints):
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def get(self, job_id: str, key: str) -> Checkpoint | None:
        found = self.uow.saved.get((job_id, key)) or self.uow.database.checkpoints.get((job_id, key))
        return dataclasses.replace(found, counts=dataclasses.replace(found.counts)) if found else None

    def save(self, job_id: str, key: str, checkpoint: Checkpoint) -> None:
        self.uow.saved[(job_id, key)] = checkpoint

    def total(self, job_id: str, keys: Sequence[str]) -> TableCounts:
        total = TableCounts()
        for key in keys:
            found = self.get(job_id, key)
            if found is not None:
                total.add(found.counts)
        return total


class FakeBatchSummaries(BatchSummaries):
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def _all(self, job_id: str, key: str) -> list[BatchSummary]:
        return [*self.uow.database.batches.get((job_id, key), []), *self.uow.new_batches.get((job_id, key), [])]

    def add(self, job_id: str, key: str, summary: BatchSummary) -> None:
        self.uow.new_batches.setdefault((job_id, key), []).append(summary)

    def first(self, job_id: str, keys: Sequence[str], limit: int) -> tuple[list[BatchSummary], int]:
        every = [summary for key in keys for summary in self._all(job_id, key)]
        return every[:limit], len(every)


class FakeSnapshot(TableSnapshot):
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def chunks(self, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
        for start in range(0, len(self.rows), size):
            yield self.rows[start : start + size]
