"""The unit of work: one database transaction, shared by the repositories of every capability.

A ``with`` block of a unit of work keeps nothing unless ``commit()`` is called: leaving it any other
way rolls back. A batch's rows, its rejections, its checkpoint and the job's progress therefore
commit together or not at all.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from core.ingest.ports import BatchSummaries, Checkpoints, Rejections
from core.jobs.ports import JobRepository


class WriteConflict(Exception):
    """Another writer changed the rows this transaction checked; the same work in a new transaction can succeed."""


class HiringRows(abc.ABC):
    """The rows of the hiring tables, as tuples in column order. A write that breaks a key raises ``WriteConflict``."""

    @abc.abstractmethod
    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """The stored rows among ``ids``, keyed by id."""

    @abc.abstractmethod
    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are stored in ``table``."""

    @abc.abstractmethod
    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert new rows through the database's fastest safe bulk path."""

    @abc.abstractmethod
    def count(self, table: str) -> int: ...

    @abc.abstractmethod
    def lock(self, tables: Collection[str]) -> None:
        """Make other writers of ``tables`` wait until this unit of work ends; the first call of a unit of work.

        Where the database allows it, readers (reports, backups) go on reading.
        """

    @abc.abstractmethod
    def ids(self, table: str) -> set[int]:
        """Every id stored in ``table``."""

    @abc.abstractmethod
    def referenced_ids(self, table: str, column: str) -> set[int]:
        """The distinct values of a reference column of ``table``."""

    @abc.abstractmethod
    def delete_all(self, table: str) -> None: ...

    @abc.abstractmethod
    def delete(self, table: str, ids: Collection[int]) -> None: ...

    @abc.abstractmethod
    def update(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Overwrite the stored rows that have these rows' ids."""

    @abc.abstractmethod
    def drop_secondary(self, table: str) -> None:
        """Bulk mode: drop the table's secondary indexes (and where the database allows, its foreign keys).

        The primary key stays. Idempotent; commits with the unit of work.
        """

    @abc.abstractmethod
    def build_secondary(self, table: str) -> None:
        """Build whichever of the table's secondary indexes and foreign keys are missing. Idempotent."""

    @abc.abstractmethod
    def analyze(self, table: str) -> None:
        """Refresh the database's statistics of the table, so that queries plan on its indexes."""


class UnitOfWork(abc.ABC):
    """One transaction: its repositories share it; nothing is kept unless ``commit()`` is called."""

    rows: HiringRows
    rejections: Rejections
    checkpoints: Checkpoints
    batches: BatchSummaries
    jobs: JobRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Drop what the transaction wrote; nothing happens after ``commit()``."""


# Each call opens a new unit of work: ``with uow() as tx: ...; tx.commit()``. Threads never share one.
UnitOfWorkFactory = Callable[[], UnitOfWork]
