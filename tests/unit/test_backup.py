from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.backup.back_up import backup_and_prune, backup_tables
from core.backup.catalogue import check_backup_id, list_backups, prune_backups
from core.backup.restore import restore_table, restore_tables
from domain.background_jobs import Cancelled
from domain.errors import BackupNotFound, InvalidBackupId, InvalidRequest, RestoreRefused, UnknownTable
from infra.avro.format import AvroBackupFormat
from infra.storage.local import LocalFolderStorage
from tests.unit.fakes import FakeDatabase

HIRED = datetime(2021, 11, 7, 2, 48, 42, 123456)


def small_company() -> FakeDatabase:
    return FakeDatabase(
        departments=[(1, "Sales"), (2, "Legal")],
        jobs=[(1, "Recruiter"), (2, "Editor")],
        hired_employees=[(1, "Ana Silva", HIRED, 1, 2), (2, "Bruno Rossi", HIRED, 2, 1)],
    )


def ticking_clock(start: datetime = datetime(2026, 11, 22, 3, 15, tzinfo=UTC)) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += timedelta(seconds=1)


@pytest.fixture
def storage(tmp_path: Path) -> LocalFolderStorage:
    return LocalFolderStorage(tmp_path)


def test_backup_ids_are_the_utc_time_to_the_microsecond(storage: LocalFolderStorage) -> None:
    moment = datetime(2026, 11, 22, 3, 15, 0, 123456, tzinfo=UTC)
    [info] = backup_tables(small_company(), storage, AvroBackupFormat(), ["jobs"], clock=lambda: moment)
    assert info.id == "20261122T031500123456Z"
    assert storage.exists("backups/jobs/20261122T031500123456Z.avro")
    assert storage.exists("backups/jobs/20261122T031500123456Z.json")


def test_two_backups_at_the_same_instant_get_different_ids(storage: LocalFolderStorage) -> None:
    moment = datetime(2026, 11, 22, 3, 15, tzinfo=UTC)
    first = backup_tables(small_company(), storage, AvroBackupFormat(), ["jobs"], clock=lambda: moment)
    second = backup_tables(small_company(), storage, AvroBackupFormat(), ["jobs"], clock=lambda: moment)
    assert first[0].id < second[0].id


def test_backups_are_listed_newest_first(storage: LocalFolderStorage) -> None:
    clock = ticking_clock()
    for _ in range(3):
        backup_tables(small_company(), storage, AvroBackupFormat(), clock=lambda: next(clock))
    listed = list_backups(storage)
    assert [b.id for b in listed] == sorted((b.id for b in listed), reverse=True)
    assert len(listed) == 9
    assert {b.table for b in list_backups(storage, "departments")} == {"departments"}


def test_pruning_keeps_the_newest_backups_of_each_table(storage: LocalFolderStorage) -> None:
    clock = ticking_clock()
    for _ in range(4):
        backup_tables(small_company(), storage, AvroBackupFormat(), clock=lambda: next(clock))
    newest = {b.id for b in list_backups(storage)[:6]}
    removed = prune_backups(storage, keep=2)
    assert len(removed) == 6
    assert {b.id for b in list_backups(storage)} == newest
    assert all(not storage.exists(b.data_name) for b in removed)


def test_the_scheduled_backup_backs_up_then_prunes(storage: LocalFolderStorage) -> None:
    for _ in range(3):
        backup_and_prune(small_company(), storage, AvroBackupFormat(), keep=2)
    assert len(list_backups(storage, "jobs")) == 2


def test_keeping_no_backup_at_all_is_refused(storage: LocalFolderStorage) -> None:
    with pytest.raises(InvalidRequest):
        prune_backups(storage, keep=0)


@pytest.mark.parametrize("bad", ["../jobs/20261122T031500123456Z", "/etc/passwd", "latest", "", "2026*"])
def test_backup_ids_that_are_not_timestamps_are_refused(bad: str) -> None:
    with pytest.raises(InvalidBackupId):
        check_backup_id(bad)


def test_backing_up_an_unknown_table_is_refused(storage: LocalFolderStorage) -> None:
    with pytest.raises(UnknownTable):
        backup_tables(small_company(), storage, AvroBackupFormat(), ["employees"])


def test_restoring_a_table_that_was_never_backed_up_is_refused(storage: LocalFolderStorage) -> None:
    with pytest.raises(BackupNotFound):
        restore_table(small_company(), storage, AvroBackupFormat(), "jobs")


def test_restore_deletes_children_first_and_inserts_parents_first(storage: LocalFolderStorage) -> None:
    archive = small_company()
    backup_tables(archive, storage, AvroBackupFormat())
    archive.log.clear()
    restore_tables(archive, storage, AvroBackupFormat(), ["hired_employees", "jobs", "departments"])
    assert archive.log == [
        ("delete_all", "hired_employees"),
        ("delete_all", "jobs"),
        ("delete_all", "departments"),
        ("insert", "departments"),
        ("insert", "jobs"),
        ("insert", "hired_employees"),
    ]


def test_restoring_a_parent_alone_keeps_the_rows_its_children_still_use(storage: LocalFolderStorage) -> None:
    archive = small_company()
    backup_tables(archive, storage, AvroBackupFormat())
    archive.tables["departments"][1] = (1, "Renamed")
    archive.tables["departments"][3] = (3, "Unused")
    restore_table(archive, storage, AvroBackupFormat(), "departments")
    assert archive.rows("departments") == [(1, "Sales"), (2, "Legal")]


def test_restoring_a_parent_that_would_orphan_children_names_the_missing_ids(storage: LocalFolderStorage) -> None:
    archive = FakeDatabase(departments=[(1, "Sales")], jobs=[(1, "Recruiter")])
    backup_tables(archive, storage, AvroBackupFormat())
    archive.tables["departments"].update({i: (i, f"Team {i}") for i in range(2, 40)})
    archive.tables["hired_employees"].update({i: (i, "Ana Silva", HIRED, i, 1) for i in range(1, 40)})
    before = archive.tables
    with pytest.raises(RestoreRefused) as refused:
        restore_table(archive, storage, AvroBackupFormat(), "departments")
    assert "department_id 2, 3, 4" in refused.value.message
    assert "and 18 more" in refused.value.message
    assert refused.value.details["missing_ids"][:3] == [2, 3, 4]
    assert archive.tables is before


def test_a_restore_stops_between_chunks_when_asked_and_keeps_nothing(storage: LocalFolderStorage) -> None:
    archive = small_company()
    backup_tables(archive, storage, AvroBackupFormat())
    archive.tables["jobs"].clear()
    with pytest.raises(Cancelled):
        restore_tables(archive, storage, AvroBackupFormat(), ["jobs"], should_stop=lambda: True)
    assert archive.rows("jobs") == []


def test_progress_reports_rows_done_out_of_rows_in_the_table(storage: LocalFolderStorage) -> None:
    seen: list[tuple[str, str, int, int]] = []
    archive = small_company()
    backup_tables(archive, storage, AvroBackupFormat(), ["jobs"], on_progress=lambda *a: seen.append(a))
    restore_table(archive, storage, AvroBackupFormat(), "jobs", on_progress=lambda *a: seen.append(a))
    assert ("jobs", "backup", 2, 2) in seen
    assert ("jobs", "verify", 2, 2) in seen
    assert seen[-1] == ("jobs", "restore", 2, 2)
