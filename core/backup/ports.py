"""What backup and restore need besides the unit of work: consistent reads of whole tables, and a file format."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
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


class TableSnapshots(abc.ABC):
    """Consistent reads of whole tables, for backups; they never wait for writers, nor make them wait."""

    @abc.abstractmethod
    def snapshot(self, table: str) -> AbstractContextManager[TableSnapshot]:
        """A read of ``table`` that does not see writes made after it started."""


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
