"""Hand-written fakes of our own ports."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from core.backup.ports import TableArchive, TableReplacement, TableSnapshot
from core.ports import BatchTransaction, HiringStore, WriteConflict
from domain.entities import TABLES
from domain.loads import Checkpoint, RejectedRow


class FakeSnapshot(TableSnapshot):
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def chunks(self, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
        for start in range(0, len(self.rows), size):
            yield self.rows[start : start + size]


class FakeReplacement(TableReplacement):
    def __init__(self, archive: FakeArchive) -> None:
        self.archive = archive
        self.tables = {name: dict(rows) for name, rows in archive.tables.items()}
        self.committed = False

    def ids(self, table: str) -> set[int]:
        return set(self.tables[table])

    def referenced_ids(self, table: str, column: str) -> set[int]:
        index = TABLES[table].column_names.index(column)
        return {row[index] for row in self.tables[table].values()}

    def delete_all(self, table: str) -> None:
        self.archive.log.append(("delete_all", table))
        self.tables[table].clear()

    def delete(self, table: str, ids: Collection[int]) -> None:
        self.archive.log.append(("delete", table))
        for row_id in ids:
            self.tables[table].pop(row_id, None)

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self.archive.log.append(("insert", table))
        for row in rows:
            if row[0] in self.tables[table]:
                raise WriteConflict(f"{table} id {row[0]} exists")
            self.tables[table][row[0]] = tuple(row)

    def update(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self.archive.log.append(("update", table))
        for row in rows:
            self.tables[table][row[0]] = tuple(row)

    def commit(self) -> None:
        self.archive.tables = self.tables
        self.committed = True


class FakeArchive(TableArchive):
    """The three tables as dicts of rows keyed by id; a replacement works on a copy until commit."""

    def __init__(self, **tables: list[tuple[Any, ...]]) -> None:
        self.tables: dict[str, dict[int, tuple[Any, ...]]] = {
            name: {row[0]: row for row in tables.get(name, [])} for name in TABLES
        }
        self.log: list[tuple[str, str]] = []

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return [self.tables[table][i] for i in sorted(self.tables[table])]

    @contextmanager
    def snapshot(self, table: str) -> Iterator[TableSnapshot]:
        yield FakeSnapshot(self.rows(table))

    @contextmanager
    def replacement(self, tables: Sequence[str]) -> Iterator[TableReplacement]:
        yield FakeReplacement(self)


class FakeBatchTransaction(BatchTransaction):
    def __init__(self, store: FakeHiringStore) -> None:
        self.store = store
        self.tables = {name: dict(rows) for name, rows in store.tables.items()}
        self.rejected: list[RejectedRow] = []
        self.checkpoints = dict(store.checkpoints)
        self.committed = False

    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        return {i: self.tables[table][i] for i in ids if i in self.tables[table]}

    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        return {i for i in ids if i in self.tables[table]}

    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        for row in rows:
            if row[0] in self.tables[table]:
                raise WriteConflict(f"{table} {row[0]}")
            self.tables[table][row[0]] = tuple(row)

    def log_rejections(self, rejections: Sequence[RejectedRow]) -> None:
        self.rejected.extend(rejections)

    def save_checkpoint(self, job_id: str, table: str, checkpoint: Checkpoint) -> None:
        self.checkpoints[(job_id, table)] = checkpoint

    def commit(self) -> None:
        if self.store.crash_before_commit == self.store.commits + 1:
            raise RuntimeError("simulated crash before this commit")
        self.store.tables = self.tables
        self.store.rejected.extend(self.rejected)
        self.store.checkpoints = self.checkpoints
        self.store.commits += 1
        self.committed = True


class FakeHiringStore(HiringStore):
    """Keeps tables as dicts; a transaction works on a copy that only ``commit()`` publishes."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, tuple[Any, ...]]] = {name: {} for name in TABLES}
        self.rejected: list[RejectedRow] = []
        self.checkpoints: dict[tuple[str, str], Checkpoint] = {}
        self.commits = 0
        self.crash_before_commit: int | None = None

    @contextmanager
    def transaction(self) -> Iterator[BatchTransaction]:
        yield FakeBatchTransaction(self)

    def load_checkpoint(self, job_id: str, table: str) -> Checkpoint | None:
        return self.checkpoints.get((job_id, table))

    def rejections(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        return [r.__dict__ for r in self.rejected if r.job_id == job_id][offset:][:limit]

    def count_rows(self, table: str) -> int:
        return len(self.tables[table])

    def check(self) -> None:
        return None
