"""A file split into 3 parts lands exactly as it does in one piece, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, select

from core.ingest.submit import root_sources, submit_ingest
from core.jobs.runner import run_job
from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from domain.background_jobs import JobState
from domain.entities import HIRED_EMPLOYEES
from infra.db.schema import departments, hired_employees, ingest_checkpoints, jobs, rejected_rows
from tests.batch_summaries import assert_batches_add_up, counts_only

EMPLOYEES = 5_000


def awkward_employees_file() -> bytes:
    """CRLF line ends, a byte-order mark, names with quoted line breaks, repeats, conflicts and bad rows."""
    rows = list(employee_rows(EMPLOYEES, invalid_share=0.05, seed=5))
    for index in range(7, EMPLOYEES, 97):
        rows[index][1] = f"Ana\nda Silva, {index}"
    rows[2600] = rows[30]
    rows[4100] = [rows[40][0], "Someone Else", *rows[40][2:]]
    rows[3300] = ["not a number", "x", "y"]
    return b"\xef\xbb\xbf" + csv_bytes([list(HIRED_EMPLOYEES.column_names), *rows])


def migrate(services: Any) -> str:
    job = submit_ingest(services.database, services.queue, services.storage, root_sources())
    while services.queue.queued:
        run_job(services.database, services.handlers, services.queue.queued.pop(0), worker="w", lease_seconds=30)
    return job.id


def stored(services: Any, job_id: str) -> tuple[Any, ...]:
    with services.engine.connect() as conn:
        employees = conn.execute(select(hired_employees).order_by(hired_employees.c.id)).all()
        rejected = conn.execute(
            select(rejected_rows.c.table_name, rejected_rows.c.line_number, rejected_rows.c.raw_record)
            .where(rejected_rows.c.job_id == job_id)
            .order_by(rejected_rows.c.line_number)
        ).all()
    return employees, rejected


def empty_tables(services: Any) -> None:
    with services.engine.begin() as conn:
        for table in (hired_employees, jobs, departments, rejected_rows, ingest_checkpoints):
            conn.execute(delete(table))


def test_a_file_split_into_3_parts_gives_the_rows_counts_and_rejected_lines_of_a_single_load(services, client):
    services.storage.write("departments.csv", csv_bytes(departments_rows()))
    services.storage.write("jobs.csv", csv_bytes(jobs_rows()))
    services.storage.write("hired_employees.csv", awkward_employees_file())
    whole = migrate(services)
    expected_rows, expected_rejected = stored(services, whole)
    expected = services.jobs.get(whole)
    empty_tables(services)
    services.settings = dataclasses.replace(services.settings, ingest_parts=3, ingest_part_min_bytes=1)

    split = migrate(services)

    parent = services.jobs.get(split)
    parts = client.get("/task-list?kind=ingest_part").json["items"]
    assert parent.state == JobState.SUCCESS, parent.error
    assert len(parts) == 3 and {p["params"]["parent"] for p in parts} == {split}
    assert all(p["state"] == "SUCCESS" for p in parts)
    assert counts_only(parent.result) == counts_only(expected.result)
    assert_batches_add_up(parent.result)
    assert parent.result["tables"]["hired_employees"] == {
        "processed": EMPLOYEES,
        "inserted": len(expected_rows),
        "already_exists": 1,
        "rejected": EMPLOYEES - len(expected_rows) - 1,
    }
    rows, rejected = stored(services, split)
    assert rows == expected_rows
    assert rejected == expected_rejected
    status = client.get(f"/task-status/{split}").json
    assert (status["counts"], status["rows_done"], status["percent"]) == (
        expected.progress.counts,
        expected.progress.rows_done,
        100.0,
    )
    assert client.get(f"/task-status/{split}/rejections?per_page=200").json["total"] == len(expected_rejected)
