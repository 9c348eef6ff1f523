"""A restore checks its rows a chunk at a time, yet refuses a file for its first fault in file order: a bad row
read before the place where the file turns out to be damaged is the one named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from core.backup.back_up import backup_tables
from core.backup.ports import BackupFileReader
from core.backup.restore import restore_tables
from domain.errors import InvalidBackup
from infra.avro.format import AvroBackupFormat
from infra.storage.local import LocalFolderStorage
from tests.unit.fakes import FakeDatabase
from tests.unit.test_backup import HIRED


class DamagedAfter(BackupFileReader):
    """The rows of a real backup, then, after ``rows`` of them, the error of a damaged file."""

    def __init__(self, reader: BackupFileReader, rows: int, bad_row: int | None) -> None:
        self.header = reader.header
        self._reader = reader
        self._rows = rows
        self._bad_row = bad_row

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for position, row in enumerate(self._reader, start=1):
            if position > self._rows:
                raise InvalidBackup(f"the backup is damaged after {self._rows} rows", {"rows_read": self._rows})
            yield (row[0], "   ", *row[2:]) if position == self._bad_row else row


class DamagedFormat(AvroBackupFormat):
    def __init__(self, rows: int, bad_row: int | None) -> None:
        self.rows = rows
        self.bad_row = bad_row

    def read(self, stream: IO[bytes], table: str) -> BackupFileReader:
        return DamagedAfter(super().read(stream, table), self.rows, self.bad_row)


@pytest.fixture
def backed_up(tmp_path: Path) -> tuple[FakeDatabase, LocalFolderStorage]:
    """Thirty employees, and a backup of them."""
    archive = FakeDatabase(
        departments=[(1, "Sales")],
        jobs=[(1, "Recruiter")],
        hired_employees=[(i, f"Ana Silva {i}", HIRED, 1, 1) for i in range(1, 31)],
    )
    storage = LocalFolderStorage(tmp_path)
    backup_tables(archive, storage, AvroBackupFormat(), ["hired_employees"])
    return archive, storage


@pytest.mark.parametrize("chunk_rows", [1, 7, 100])
def test_a_bad_row_before_the_damage_is_named_whatever_the_chunk(backed_up: Any, chunk_rows: int) -> None:
    archive, storage = backed_up
    with pytest.raises(InvalidBackup, match="row 12 of hired_employees backup .* breaks the rules"):
        restore_tables(archive, storage, DamagedFormat(20, 12), ["hired_employees"], chunk_rows=chunk_rows)


@pytest.mark.parametrize("chunk_rows", [1, 7, 100])
def test_damage_before_any_bad_row_is_what_refuses_the_file(backed_up: Any, chunk_rows: int) -> None:
    archive, storage = backed_up
    with pytest.raises(InvalidBackup, match="damaged after 20 rows"):
        restore_tables(archive, storage, DamagedFormat(20, 25), ["hired_employees"], chunk_rows=chunk_rows)


def test_a_bad_row_deep_in_a_chunk_is_named_by_its_place_in_the_file(backed_up: Any) -> None:
    archive, storage = backed_up
    with pytest.raises(InvalidBackup) as refused:
        restore_tables(archive, storage, DamagedFormat(30, 23), ["hired_employees"], chunk_rows=7)
    assert refused.value.details["row"] == 23
    assert [reason["code"] for reason in refused.value.details["reasons"]] == ["missing"]
