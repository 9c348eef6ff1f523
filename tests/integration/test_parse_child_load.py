"""A large file parsed in a child process, which sends its rows already in the database's form, loads exactly as the
same file read in the load's own process: the same counts, the same rejected rows with the same raw records and
reasons, the same stored rows, on SQLite and PostgreSQL. The file mixes every case that the load decides after the
parse: ids stored before the load (same content and other content), ids twice in the file, unknown references,
lines the rules refuse and valid lines that are not in the canonical form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from core.ingest import csv_source, loader
from core.ingest.loader import LoadReporter, ingest_blob
from domain.background_jobs import Cancelled
from infra.db.schema import departments, hired_employees
from infra.storage.local import LocalFolderStorage

HIRED = datetime(2021, 11, 7, 2, 48, 42)
WHEN = "2021-11-07T02:48:42Z"
ROWS = 60_000  # about 2.6 MB: above the size from which a file is parsed in a child


def employees_file() -> bytes:
    lines = [f"{i},Person {i},{WHEN},{i % 3 + 1},{i % 2 + 1}" for i in range(1, ROWS + 1)]
    lines[9] = "10,Person 10,2021-02-30T00:00:00Z,1,1"  # no such day
    lines[19] = "20,,2021-11-07T02:48:42Z,1,1"  # a missing name
    lines[29] = "30,Person 30,2021-11-07T02:48:42Z,99,1"  # an unknown department
    lines[39] = f' 40, "Person 40" ,{WHEN},2,1'  # valid, not canonical
    lines[1500] = f"{ROWS // 2},Person {ROWS // 2},{WHEN},{ROWS // 2 % 3 + 1},{ROWS // 2 % 2 + 1}"  # a copy, later on
    lines[1501] = f"{ROWS // 3},Somebody Else,{WHEN},1,1"  # the same id as a later line, other content
    lines[2999] = f" 41 , Person 41 ,{WHEN},3,2"  # not canonical, the same as line 41 of the file
    lines.append("x,Person x,2021-11-07T02:48:42Z,1,1")  # not a number
    return ("\n".join(lines) + "\n").encode()


def parents_and_file(services: Any, tmp_path: Path, employees: bytes) -> Path:
    """Departments 1 to 3 and jobs 1 and 2 stored; ``employees`` as employees.csv in the folder returned."""
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales"), (2, "Legal"), (3, "Support")])
        tx.rows.insert("jobs", [(1, "Editor"), (2, "Tester")])
        tx.commit()
    files = tmp_path / "files"
    files.mkdir()
    (files / "employees.csv").write_bytes(employees)
    return files


class BetweenBatches(LoadReporter):
    """Calls ``then(n)`` once the load's n-th batch committed; the load stops where it answers True."""

    def __init__(self, then: Callable[[int], bool]) -> None:
        self.then = then
        self.batches = 0

    def loaded(self, uow: Any, table: str, counts: Any, done: int, size: int | None) -> None:
        return None

    def should_stop(self) -> bool:
        self.batches += 1
        return self.then(self.batches)


def load(services: Any, files: Path, job: str) -> tuple[Any, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with services.database() as tx:
        tx.rows.delete_all("hired_employees")
        tx.rows.insert(
            "hired_employees",
            [(50, "Person 50", HIRED, 3, 1), (ROWS - 7, "Stored Before", HIRED, 1, 1)],
        )
        tx.commit()
    counts = ingest_blob(services.database, LocalFolderStorage(files), "hired_employees", "employees.csv", job_id=job)
    rejected = [(r["line"], r["record"], [x["code"] for x in r["reasons"]]) for r in services.store.rejections(job)]
    with services.engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(select(hired_employees).order_by(hired_employees.c.id))]
    return counts, rejected, stored


def test_a_file_parsed_in_a_child_loads_as_one_read_in_the_load_process(
    services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = parents_and_file(services, tmp_path, employees_file())
    in_child = []
    real = csv_source.records_in_child

    def counted(*args: Any, **kwargs: Any) -> Any:
        # The child prepares the records it sends, and reads the local file itself.
        in_child.append(args[2] is not None and kwargs["file_descriptor"] is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(csv_source, "records_in_child", counted)
    through_child = load(services, files, "4f0c1a52-0000-4000-8000-0000000000c1")
    assert in_child == [True]
    monkeypatch.setattr(loader, "PARSE_IN_CHILD_FROM_BYTES", 1 << 40)
    in_this_process = load(services, files, "4f0c1a52-0000-4000-8000-0000000000c2")
    assert in_child == [True]

    assert through_child == in_this_process
    counts, rejected, stored = through_child
    assert (counts.processed, counts.inserted, counts.already_exists, counts.rejected) == (ROWS + 1, ROWS - 8, 3, 6)
    assert [(line, codes) for line, _, codes in rejected] == [
        (10, ["invalid_datetime"]),
        (20, ["missing"]),
        (30, ["unknown_reference"]),
        (ROWS // 3, ["conflict"]),
        (ROWS - 7, ["conflict"]),
        (ROWS + 1, ["not_an_integer"]),
    ]
    records = {line: record for line, record, _ in rejected}
    assert records[ROWS // 3] == f"{ROWS // 3},Person {ROWS // 3},{WHEN},{ROWS // 3 % 3 + 1},{ROWS // 3 % 2 + 1}"
    assert records[ROWS - 7] == f"{ROWS - 7},Person {ROWS - 7},{WHEN},{(ROWS - 7) % 3 + 1},{(ROWS - 7) % 2 + 1}"
    by_id = {row[0]: row for row in stored}
    assert len(by_id) == ROWS - 6 and not {10, 20, 30, 1501, 1502, 3000} & by_id.keys()
    assert by_id[40] == (40, "Person 40", HIRED, 2, 1)
    assert by_id[ROWS // 3][1] == "Somebody Else" and by_id[ROWS - 7][1] == "Stored Before"
    assert by_id[ROWS] == (ROWS, f"Person {ROWS}", HIRED, ROWS % 3 + 1, ROWS % 2 + 1)


def test_a_header_line_is_skipped_when_the_file_is_parsed_in_a_child(services: Any, tmp_path: Path) -> None:
    files = parents_and_file(services, tmp_path, b"id,name,datetime,department_id,job_id\n" + employees_file())
    job = "4f0c1a52-0000-4000-8000-0000000000c3"
    counts = ingest_blob(services.database, LocalFolderStorage(files), "hired_employees", "employees.csv", job_id=job)
    assert (counts.processed, counts.rejected) == (ROWS + 1, 5)  # no row stored before this load
    assert [r["line"] for r in services.store.rejections(job)][:3] == [11, 21, 31]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_bulk_load_checks_each_batchs_references_in_its_own_transaction(services: Any, tmp_path: Path) -> None:
    """SQLite's foreign keys are off for the batches of a bulk load, so the load checks its references in each batch,
    in that batch's transaction: a department removed between two batches is refused from then on, never inserted."""
    # Employee 7 makes the load meet department 3 in its first batch; the rest of department 3 comes later.
    later = {i for i in range(10_001, ROWS + 1) if i % 7 == 0}
    lines = [f"{i},Person {i},{WHEN},{3 if i == 7 or i in later else i % 2 + 1},1" for i in range(1, ROWS + 1)]
    files = parents_and_file(services, tmp_path, ("\n".join(lines) + "\n").encode())

    def remove_department_after_two_batches(batches: int) -> bool:
        if batches == 2:
            with services.engine.begin() as conn:  # another writer, between two batches
                conn.execute(delete(hired_employees).where(hired_employees.c.id == 7))
                conn.execute(delete(departments).where(departments.c.id == 3))
        return False

    job = "4f0c1a52-0000-4000-8000-0000000000c4"
    counts = ingest_blob(
        services.database,
        LocalFolderStorage(files),
        "hired_employees",
        "employees.csv",
        job_id=job,
        reporter=BetweenBatches(remove_department_after_two_batches),
    )
    refused = sorted(later)
    assert (counts.processed, counts.rejected) == (ROWS, len(refused))
    assert [r["line"] for r in services.store.rejections(job)] == refused
    with services.engine.connect() as conn:
        stored = conn.execute(select(hired_employees.c.id).where(hired_employees.c.department_id == 3)).all()
        integrity = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    assert stored == [] and integrity == []


def test_a_load_stopped_and_resumed_mid_run_of_rows_loads_as_one_read_in_the_load_process(
    services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child sends the rows of consecutive valid lines as one record; with a header line the batches (1000
    records after it) end one line after the child's messages (1000 lines), so the load stops inside such a run,
    and the resumed load starts inside one."""
    files = parents_and_file(services, tmp_path, b"id,name,datetime,department_id,job_id\n" + employees_file())

    def load_twice(job: str) -> tuple[Any, list[tuple[Any, ...]], list[tuple[Any, ...]], Any]:
        storage = LocalFolderStorage(files)
        with pytest.raises(Cancelled):
            ingest_blob(
                services.database,
                storage,
                "hired_employees",
                "employees.csv",
                job_id=job,
                reporter=BetweenBatches(lambda batches: batches == 2),
            )
        with services.database() as tx:
            checkpoint = tx.checkpoints.get(job, "hired_employees")
        counts = ingest_blob(services.database, storage, "hired_employees", "employees.csv", job_id=job)
        rejected = [(r["line"], r["record"], [x["code"] for x in r["reasons"]]) for r in services.store.rejections(job)]
        with services.engine.begin() as conn:
            stored = [tuple(row) for row in conn.execute(select(hired_employees).order_by(hired_employees.c.id))]
            conn.execute(delete(hired_employees))
        return counts, rejected, stored, checkpoint.position

    through_child = load_twice("4f0c1a52-0000-4000-8000-0000000000c5")
    monkeypatch.setattr(loader, "PARSE_IN_CHILD_FROM_BYTES", 1 << 40)
    in_this_process = load_twice("4f0c1a52-0000-4000-8000-0000000000c6")

    assert through_child == in_this_process
    counts, rejected, stored, stopped_at = through_child
    assert stopped_at == 2001  # the header, then two batches of 1000 records
    assert (counts.processed, counts.inserted, counts.already_exists, counts.rejected) == (ROWS + 1, ROWS - 6, 2, 5)
    assert [line for line, _, _ in rejected] == [11, 21, 31, ROWS // 3 + 1, ROWS + 2]
    assert len(stored) == ROWS - 6
