"""What backup and restore need: consistent reads of whole tables, their atomic replacement, and a file format."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

# (table, phase, rows done, rows in all); phase is "backup", "verify" or "restore".
BackupProgress = Callable[[str, str, int, int], None]


class TableSnapshot(abc.ABC):
    """One table as it stood at one moment: how many rows it had, and those rows ordered by id."""

    @property
    @abc.abstractmethod
    def row_count(self) -> int: ...

    @abc.abstractmethod
    def chunks(self, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The rows in column order, ``size`` at a time, never all in memory."""


class TableReplacement(abc.ABC):
    """One database transaction that replaces whole tables. Nothing is kept unless ``commit()`` is called.

    A write that breaks a key or a foreign key raises ``WriteConflict``.
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
    def insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert rows in column order through the bulk path."""

    @abc.abstractmethod
    def update(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Overwrite the stored rows that have these rows' ids."""

    @abc.abstractmethod
    def commit(self) -> None: ...


class TableArchive(abc.ABC):
    """Whole-table access for backup and restore: consistent reads, and atomic replacement."""

    @abc.abstractmethod
    def snapshot(self, table: str) -> AbstractContextManager[TableSnapshot]:
        """A read of ``table`` that does not see writes made after it started."""

    @abc.abstractmethod
    def replacement(self, tables: Sequence[str]) -> AbstractContextManager[TableReplacement]:
        """A new transaction for replacing ``tables``; it rolls back on exit unless committed.

        Where the database allows it, other writers of those tables wait until it ends, so none
        slips a row in between the checks and the replacement.
        """

    @property
    def replacement_blocks_other_writes(self) -> bool:
        """Whether, while a replacement is open, no other connection can write to the database (SQLite).

        A job's progress cannot then be recorded until the replacement ends.
        """
        return False


@dataclass(frozen=True)
class BackupHeader:
    """What a backup file says about itself."""

    table: str
    rows: int
    schema_version: int
    created: datetime


class BackupFileReader(abc.ABC):
    """The rows of one backup file, as raw values in the table's column order, ready for validation."""

    header: BackupHeader

    @abc.abstractmethod
    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Raises ``InvalidBackup`` if the file ends early or is damaged."""


class BackupFormat(abc.ABC):
    """How one table's rows are written to a backup file and read back."""

    extension: str
    schema_version: int

    @abc.abstractmethod
    def write(self, out: IO[bytes], header: BackupHeader, rows: Iterable[tuple[Any, ...]]) -> int:
        """Write the header and every row to ``out`` as they come; return how many rows were written."""

    @abc.abstractmethod
    def read(self, stream: IO[bytes], table: str) -> BackupFileReader:
        """Open a backup of ``table``; raises ``InvalidBackup`` if its schema or header is not that table's."""
