"""The unit of work: one database transaction, shared by the repositories of every capability.

A ``with`` block of a unit of work keeps nothing unless ``commit()`` is called: leaving it any other
way rolls back. A batch's rows, its rejections, its checkpoint and the job's progress therefore
commit together or not at all.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from core.ingest.ports import BatchSummaries, Checkpoints, Rejections
from core.jobs.ports import JobRepository


class WriteConflict(Exception):
    """Another writer changed the rows this transaction checked; the same work in a new transaction can succeed."""


@dataclass(frozen=True)
class StorageForm:
    """How the rows of one table look to the database's bulk insert: each value as the driver takes it.

    ``encode`` turns an entity's values into that form and ``decode`` turns them back; both None where the
    database takes the entity's values as they are. A load encodes each row once, where it is cheapest (the
    process that parses a large file), and writes it with ``HiringRows.insert_stored_form``. Encoded rows keep
    the columns' order, so the id and the references are where the entity has them.
    """

    encode: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
    decode: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
    # Where ``encode`` converts only datetimes: the stored value of a valid datetime given as its canonical text
    # (``2021-11-07T02:48:42``, UTC), so that a canonical CSV line is parsed straight into this form
    # (``TableSpec.plain_line_parser``).
    datetime_text: Callable[[str], Any] | None = None
    # Else, where ``encode`` converts only datetimes: the stored value of a valid datetime (naive, UTC), for the same.
    datetime_value: Callable[[datetime], Any] | None = None


class HiringRows(abc.ABC):
    """The rows of the hiring tables, as tuples in column order. A write that breaks a key raises ``WriteConflict``."""

    def storage_form(self, table: str) -> StorageForm:
        """The form of ``table``'s rows for ``insert_stored_form``; by default the entity's values themselves."""
        return StorageForm()

    def insert_stored_form(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """``insert`` of rows already in ``storage_form(table)``."""
        self.insert(table, rows)

    def references_checked_here(self) -> bool:
        """The first call of a unit of work of a bulk load, whose writer checks the references of the rows it writes.
        Where the database would check each row's references again and cannot drop those checks for the load
        (SQLite's foreign keys), it skips them until the unit of work ends, makes other writers wait for it (as
        ``lock`` does), and says so: the writer must then look up, in this unit of work, every reference it
        relies on (``existing_ids``), none remembered from an earlier one. Elsewhere it says False (and may take
        note that the load's own checks stand in for the database's: PostgreSQL's are dropped for a bulk load)."""
        return False

    @abc.abstractmethod
    def existing(self, table: str, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """The stored rows among ``ids``, keyed by id."""

    @abc.abstractmethod
    def existing_ids(self, table: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are stored in ``table``."""

    @abc.abstractmethod
    def insert(self, table: str, rows: Sequence[tuple[Any, ...]] | StagedRows) -> None:
        """Insert new rows through the database's fastest safe bulk path; staged rows move inside the database."""

    @abc.abstractmethod
    def count(self, table: str) -> int: ...

    @abc.abstractmethod
    def lock(self, tables: Collection[str], *, references_checked: bool = False) -> None:
        """Make other writers of ``tables`` wait until this unit of work ends; the first call of a unit of work.

        Where the database allows it, readers (reports, backups) go on reading. ``references_checked``
        says that the caller checks every reference itself, under the lock, before it commits: the
        database may then skip its own row-by-row foreign-key checks until the unit of work ends.
        """

    @abc.abstractmethod
    def delete_all(self, table: str) -> None:
        """Empty ``table`` in this transaction; readers that start meanwhile see its rows of before or of after."""

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

    @abc.abstractmethod
    def drop_secondary_indexes(self, table: str) -> None:
        """Drop the indexes of ``table`` besides its primary key, for a restore, in this transaction; after
        ``lock(..., references_checked=True)``, also its foreign keys where the database can drop them, and its
        primary key where no foreign key refers to the table (built again with the indexes, checking every id).

        ``build_secondary_indexes`` builds them again; a transaction that does not commit leaves them as they were.
        """

    @abc.abstractmethod
    def build_secondary_indexes(self, table: str) -> None:
        """Build the secondary indexes and foreign keys ``table`` lacks, then refresh the planner's statistics."""

    @abc.abstractmethod
    def stage(self, table: str) -> StagedRows:
        """An empty staging area for rows of ``table``, private to this unit of work.

        It outlives ``commit()`` and is removed when the unit of work ends.
        """

    @abc.abstractmethod
    def orphans(self, table: str, column: str, parent: StagedRows, limit: int) -> Missing:
        """The values of ``table``'s reference ``column`` that are not among the ids of ``parent``."""

    @abc.abstractmethod
    def merge(self, table: str, rows: StagedRows) -> None:
        """Make ``table`` hold exactly ``rows``: a stored row whose id is staged is updated in place, not deleted."""


@dataclass(frozen=True)
class Missing:
    """Ids that should be there and are not: the smallest ``first`` of them, and how many there are."""

    first: list[int]
    count: int


class StagedRows(abc.ABC):
    """Rows of one table set aside in a unit of work, to be checked with set-based queries before they
    replace the table's rows (``HiringRows.insert`` or ``merge``)."""

    table: str

    @abc.abstractmethod
    def add(self, rows: Sequence[tuple[Any, ...]]) -> None: ...

    @abc.abstractmethod
    def repeated_id(self) -> int | None:
        """The smallest id staged more than once; None when every id is unique."""

    @abc.abstractmethod
    def missing(self, column: str, parent: StagedRows | None, limit: int) -> Missing:
        """The values of reference ``column`` that are not ids of ``parent`` (staged rows), or, when
        ``parent`` is None, of the table the column refers to."""


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
