"""The real web server (2 processes x 4 threads) and a real Celery worker (2 processes) on Redis and PostgreSQL:
clients and jobs that write the same rows at the same instant, and restores that other writers must wait for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select, text

from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from domain.entities import HIRED_EMPLOYEES, TABLES
from infra.db.engine import make_engine
from infra.db.schema import HIRING_TABLES
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service, wait_until
from tests.e2e.test_backup_restore import contents, succeeded, vandalise
from tests.e2e.test_upload_files import EXPECTED_INSERTED
from tests.together import at_once

pytestmark = pytest.mark.slow

CLIENTS = 8
ROUNDS = 3
ROWS = 1000
EMPLOYEES = 20_000


@pytest.fixture
def environ(tmp_path: Path, postgres_url: str, redis_url: str) -> dict[str, str]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return hireflow_environ(
        tmp_path,
        postgres_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_KEY_PREFIX=prefix,
        WEB_CONCURRENCY="2",
        WORKER_CONCURRENCY="2",
    )


@pytest.fixture
def service(environ: dict[str, str], tmp_path: Path) -> Iterator[ApiClient]:
    yield from running_service(environ, tmp_path, "serve", "worker")


@pytest.fixture
def database(environ: dict[str, str]) -> Iterator[Engine]:
    engine = make_engine(environ["DATABASE_URL"])
    yield engine
    engine.dispose()


def sessions(client: ApiClient, count: int) -> list[requests.Session]:
    """One HTTP session per thread, each with the admin's token: a session is not shared between threads."""
    made = []
    for _ in range(count):
        session = requests.Session()
        session.headers["Authorization"] = client.http.headers["Authorization"]
        made.append(session)
    return made


def employees(first: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"Employee {i}",
            "datetime": "2021-11-07T02:48:42Z",
            "department_id": 1 + i % 12,
            "job_id": 1 + i % 183,
        }
        for i in range(first, first + ROWS)
    ]


def test_eight_clients_posting_the_same_rows_at_once_all_get_200_and_every_row_is_inserted_once(
    service: ApiClient, database: Engine
):
    client = service
    for path, rows in (("departments", departments_rows()), ("jobs", jobs_rows())):
        sent = client.http.post(f"{client.base_url}/{path}", data=csv_bytes(rows), headers={"Content-Type": "text/csv"})
        assert sent.status_code == 200, sent.text
    senders = sessions(client, CLIENTS)
    url = f"{client.base_url}/hired-employees"
    batches = [employees(1 + n * ROWS) for n in range(ROUNDS)]

    # Each round new rows, then a last round that sends the first ones again.
    for rows, inserted in [*((rows, ROWS) for rows in batches), (batches[0], 0)]:
        answers = at_once(CLIENTS, lambda i, rows=rows: senders[i].post(url, json=rows, timeout=120))

        assert [a.status_code for a in answers] == [200] * CLIENTS, [a.text[:300] for a in answers]
        bodies = [a.json() for a in answers]
        assert all(b["inserted"] + b["already_exists"] == ROWS and b["rejected"] == [] for b in bodies), bodies
        assert sum(b["inserted"] for b in bodies) == inserted

    with database.connect() as conn:
        stored = list(conn.execute(select(HIRING_TABLES["hired_employees"].c.id).order_by("id")).scalars())
    assert stored == list(range(1, 1 + ROUNDS * ROWS))


def waiting_on(database: Engine, table: str) -> int:
    """How many transactions wait for a lock on ``table``."""
    query = text("SELECT count(*) FROM pg_locks WHERE relation = CAST(:table AS regclass) AND NOT granted")
    with database.connect() as conn:
        return int(conn.execute(query, {"table": table}).scalar_one())


def write_sample(folder: Path) -> set[int]:
    """The three CSVs of a 20 000-employee sample (about 3% broken rows); returns the valid employee ids."""
    rows = list(employee_rows(EMPLOYEES, invalid_share=0.03, seed=7))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "departments.csv").write_bytes(csv_bytes(departments_rows()))
    (folder / "jobs.csv").write_bytes(csv_bytes(jobs_rows()))
    (folder / "hired_employees.csv").write_bytes(csv_bytes([list(HIRED_EMPLOYEES.column_names), *rows]))
    return {int(row[0]) for row in rows if not isinstance(HIRED_EMPLOYEES.validate(row), list)}


def test_the_same_file_uploaded_twice_at_the_same_instant_ends_in_two_successes_with_every_row_once(
    service: ApiClient, database: Engine, tmp_path: Path
):
    client = service
    folder = tmp_path / "sample"
    valid = write_sample(folder)
    senders = sessions(client, 2)

    def upload(i: int) -> requests.Response:
        handles = {t: (folder / f"{t}.csv").open("rb") for t in TABLES}
        try:
            return senders[i].post(f"{client.base_url}/upload-files", files=handles, timeout=120)
        finally:
            for handle in handles.values():
                handle.close()

    # Both jobs wait on a held table, then go on together: their first batches of each table collide.
    with database.connect() as departments, database.connect() as hired_employees:
        departments.execute(text("LOCK TABLE departments IN ACCESS EXCLUSIVE MODE"))
        hired_employees.execute(text("LOCK TABLE hired_employees IN ACCESS EXCLUSIVE MODE"))
        created = at_once(2, upload)
        assert [r.status_code for r in created] == [202, 202], [r.text for r in created]
        task_ids = [r.json()["task_id"] for r in created]

        def both_wait_on(table: str) -> bool:
            failed = any(client.task(task_id)["state"] == "FAILURE" for task_id in task_ids)
            return failed or waiting_on(database, table) == 2

        for holder, table in ((departments, "departments"), (hired_employees, "hired_employees")):
            wait_until(lambda table=table: both_wait_on(table), 60, f"both jobs to wait on {table}")
            holder.rollback()

    statuses = [client.follow(task_id, timeout=180)[0] for task_id in task_ids]
    assert [s["state"] for s in statuses] == ["SUCCESS", "SUCCESS"], [s["error"] for s in statuses]
    with database.connect() as conn:
        stored = list(conn.execute(select(HIRING_TABLES["hired_employees"].c.id)).scalars())
    assert len(stored) == len(set(stored)) and set(stored) == valid
    assert sum(s["counts"]["hired_employees"]["inserted"] for s in statuses) == len(valid)
    for status in statuses:
        counts = status["counts"]["hired_employees"]
        assert counts["inserted"] + counts["already_exists"] == len(valid)
        assert counts["rejected"] == EMPLOYEES - len(valid)


@pytest.fixture
def backed_up(service: ApiClient, database: Engine, challenge_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The challenge loaded and backed up; returns the tables' contents at the backup."""
    succeeded(service, service.upload_files(challenge_dir))
    succeeded(service, service.backup())
    original = contents(database)
    assert {table: len(rows) for table, rows in original.items()} == EXPECTED_INSERTED
    return original


def test_two_restores_of_one_table_at_once_run_one_and_refuse_the_other_naming_it(
    service: ApiClient, database: Engine, backed_up: dict[str, list[tuple[Any, ...]]]
):
    client = service
    vandalise(database)
    senders = sessions(client, 2)

    # The first restore admitted cannot replace the table (it takes EXCLUSIVE) until both answers are in: on a
    # slow machine it could otherwise finish before the second request is admitted, which is then rightly accepted.
    with database.connect() as holder:
        holder.execute(text("LOCK TABLE hired_employees IN SHARE MODE"))
        answers = at_once(
            2, lambda i: senders[i].post(f"{client.base_url}/restore", json={"table": "hired_employees"}, timeout=60)
        )
        holder.rollback()

    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    task_id = next(a for a in answers if a.status_code == 202).json()["task_id"]
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] == "table_busy" and f"task {task_id} (restore, " in refused["message"]
    assert refused["details"]["task_id"] == task_id and refused["details"]["tables"] == ["hired_employees"]
    status, _seen = client.follow(task_id, timeout=120)
    assert status["state"] == "SUCCESS", status
    assert contents(database)["hired_employees"] == backed_up["hired_employees"]


def test_a_restore_waits_for_a_running_ingest_and_an_ingest_for_a_running_restore(
    service: ApiClient, database: Engine, backed_up: dict[str, list[tuple[Any, ...]]], challenge_dir: Path
):
    client = service
    with database.connect() as holder:
        # Hold the employees table, reads too (its rows are all there already), so the ingest stays running.
        holder.execute(text("LOCK TABLE hired_employees IN ACCESS EXCLUSIVE MODE"))
        ingest = client.upload_files(challenge_dir).json()["task_id"]
        wait_until(lambda: client.task(ingest)["state"] == "PROGRESS", 60, "the ingest to run")

        refused = client.restore({"tables": ["jobs", "hired_employees"]})

        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["details"] == {
            "task_id": ingest,
            "kind": "ingest",
            "state": "PROGRESS",
            "tables": ["hired_employees", "jobs"],
        }
        holder.rollback()
    assert client.follow(ingest, timeout=120)[0]["state"] == "SUCCESS"

    vandalise(database)
    with database.connect() as holder:
        # A writer's lock on the employees table keeps the restore waiting, after it checked its files.
        holder.execute(text("LOCK TABLE hired_employees IN ROW EXCLUSIVE MODE"))
        restore = client.restore({"tables": list(TABLES)}).json()["task_id"]
        wait_until(lambda: client.task(restore)["percent"] >= 50.0, 60, "the restore to check its files")

        for refused in (
            client.upload_files(challenge_dir),
            client.http.post(f"{client.base_url}/jobs", json=[{"id": 184, "job": "Data Engineer"}], timeout=30),
        ):
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["details"]["task_id"] == restore and error["details"]["kind"] == "restore"
            assert f"being restored by task {restore} (restore, PROGRESS)" in error["message"]
        holder.rollback()
    assert client.follow(restore, timeout=120)[0]["state"] == "SUCCESS"
    assert contents(database) == backed_up
    assert client.upload_files(challenge_dir).status_code == 202
