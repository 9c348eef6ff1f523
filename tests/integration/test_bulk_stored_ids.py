"""A bulk load skips the look-up of its ids among the stored rows and lets the primary key refuse a stored one: on
SQLite and PostgreSQL the answers are still those of a load that looks every id up, and no stored row changes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.ingest.loader import BULK_MIN_ROWS, ingest_blob
from core.sample import csv_bytes
from domain.loads import TableCounts
from infra.db.schema import hired_employees
from infra.storage.local import LocalFolderStorage

JOB = "4f0c1a52-0000-4000-8000-0000000000b1"
HIRED = datetime(2021, 11, 7, 2, 48, 42)
WHEN = "2021-11-07T02:48:42Z"
ROWS = BULK_MIN_ROWS + 500


def test_a_bulk_load_meeting_stored_ids_counts_the_same_row_as_there_and_rejects_another_one(
    services: Any, tmp_path: Path
) -> None:
    with services.database() as tx:
        tx.rows.insert("departments", [(1, "Sales")])
        tx.rows.insert("jobs", [(1, "Editor")])
        stored = [(30_001, "Person 30001", HIRED, 1, 1), (40_002, "Someone Else", HIRED, 1, 1)]
        tx.rows.insert("hired_employees", stored)
        tx.commit()
    lines = [[str(i), f"Person {i}", WHEN, "1", "1"] for i in range(1, ROWS + 1)]
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "employees.csv").write_bytes(csv_bytes(lines))

    counts = ingest_blob(
        services.database, LocalFolderStorage(tmp_path / "files"), "hired_employees", "employees.csv", job_id=JOB
    )

    assert counts == TableCounts(processed=ROWS, inserted=ROWS - 2, already_exists=1, rejected=1)
    rejected = services.store.rejections(JOB)
    assert [(r["line"], [reason["code"] for reason in r["reasons"]]) for r in rejected] == [(40_002, ["conflict"])]
    with services.engine.connect() as conn:
        stored = dict(conn.execute(select(hired_employees.c.id, hired_employees.c.name)).all())
    assert len(stored) == ROWS
    assert (stored[30_001], stored[40_002], stored[ROWS]) == ("Person 30001", "Someone Else", f"Person {ROWS}")
