"""The real web server and a real Celery worker on Redis and PostgreSQL: back up, vandalise, restore."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from domain.entities import TABLES
from infra.db.engine import make_engine
from infra.db.schema import HIRING_TABLES
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient
from tests.e2e.test_upload_files import EXPECTED_INSERTED, running_service

pytestmark = pytest.mark.slow


@pytest.fixture
def environ(tmp_path: Path, postgres_url: str, redis_url: str) -> dict[str, str]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return hireflow_environ(tmp_path, postgres_url, CELERY_BROKER_URL=redis_url, CELERY_KEY_PREFIX=prefix)


@pytest.fixture
def service(environ: dict[str, str], tmp_path: Path) -> Iterator[ApiClient]:
    yield from running_service(environ, tmp_path, "serve", "worker")


@pytest.fixture
def database(environ: dict[str, str]) -> Iterator[Engine]:
    engine = make_engine(environ["DATABASE_URL"])
    yield engine
    engine.dispose()


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
            for name, table in HIRING_TABLES.items()
        }


def vandalise(engine: Engine) -> None:
    departments, jobs, employees = (HIRING_TABLES[t] for t in TABLES)
    with engine.begin() as conn:
        conn.execute(delete(employees).where(employees.c.id.between(100, 600)))
        conn.execute(
            update(employees).where(employees.c.id > 1000).values(name="Nobody", datetime=datetime(2000, 1, 1))
        )
        conn.execute(update(departments).where(departments.c.id == 1).values(department="Renamed"))
        conn.execute(insert(jobs).values(id=999, job="Intruder"))


def succeeded(client: ApiClient, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert response.headers["Location"].endswith(f"/task-status/{response.json()['task_id']}")
    status, _seen = client.follow(response.json()["task_id"], timeout=90)
    assert status["state"] == "SUCCESS", status
    return status


def test_a_backup_and_a_restore_run_on_a_celery_worker_and_bring_back_every_row(
    service: ApiClient, database: Engine, challenge_dir: Path
):
    client = service
    succeeded(client, client.upload_files(challenge_dir))
    original = contents(database)
    assert {table: len(rows) for table, rows in original.items()} == EXPECTED_INSERTED

    backup = succeeded(client, client.backup())

    assert {b["table"]: b["rows"] for b in backup["result"]["backups"]} == EXPECTED_INSERTED
    listed = client.backups().json()
    assert sorted(b["table"] for b in listed) == sorted(TABLES)
    assert {b["id"] for b in listed} == {b["id"] for b in backup["result"]["backups"]}

    vandalise(database)
    assert contents(database) != original

    restore = succeeded(client, client.restore({"tables": list(TABLES)}))

    assert [(r["table"], r["rows"]) for r in restore["result"]["tables"]] == list(EXPECTED_INSERTED.items())
    assert restore["worker"] and restore["percent"] == 100.0
    assert contents(database) == original
