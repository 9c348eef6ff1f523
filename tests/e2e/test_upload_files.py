"""The real web server and a real Celery worker: upload the challenge files and follow the task to the end."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service, wait_until

pytestmark = pytest.mark.slow

EXPECTED_INSERTED = {"departments": 12, "jobs": 183, "hired_employees": 1929}


@pytest.fixture
def redis_postgres_environ(tmp_path: Path, postgres_url: str, redis_url: str) -> dict[str, str]:
    return hireflow_environ(
        tmp_path, postgres_url, CELERY_BROKER_URL=redis_url, CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:"
    )


@pytest.fixture
def service_on_redis_and_postgres(redis_postgres_environ: dict[str, str], tmp_path: Path) -> Iterator[ApiClient]:
    yield from running_service(redis_postgres_environ, tmp_path, "serve", "worker")


@pytest.fixture
def service_on_the_embedded_default(tmp_path: Path) -> Iterator[ApiClient]:
    environ = hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}")
    yield from running_service(environ, tmp_path, "run")


def assert_challenge_migrated(client: ApiClient, status: dict) -> None:
    assert status["state"] == "SUCCESS", status
    assert {table: counts["inserted"] for table, counts in status["counts"].items()} == EXPECTED_INSERTED
    assert status["result"]["rejected"] == 70
    listed = client.rejections(status["task_id"], per_page=1000).json()
    assert listed["total"] == 70 and len(listed["items"]) == 70
    assert {item["table"] for item in listed["items"]} == {"hired_employees"}
    download = client.rejections(status["task_id"], format="csv")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(download.text)))) == 1 + 70


def test_the_challenge_upload_runs_on_a_celery_worker_through_progress_to_success(
    service_on_redis_and_postgres: ApiClient, challenge_dir: Path, redis_postgres_environ: dict[str, str]
):
    client = service_on_redis_and_postgres
    database = create_engine(redis_postgres_environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    with database.connect() as slow_database:
        # Hold the employees table so the task pauses after its first tables: a poller must see PROGRESS.
        slow_database.execute(text("LOCK TABLE hired_employees IN EXCLUSIVE MODE"))
        response = client.upload_files(challenge_dir)
        assert response.status_code == 202
        task_id = response.json()["task_id"]
        assert response.headers["Location"].endswith(f"/task-status/{task_id}")
        paused = wait_until(
            lambda: (s := client.task(task_id))["state"] == "PROGRESS" and "jobs" in s["counts"] and s,
            60,
            "the task to report progress",
        )
        assert paused["counts"]["departments"]["inserted"] == 12 and 0 < paused["percent"] < 100
        slow_database.rollback()
    database.dispose()

    status, seen = client.follow(task_id, timeout=60)

    assert seen[0] == "PROGRESS" and seen[-1] == "SUCCESS"
    assert_challenge_migrated(client, status)


def test_the_challenge_upload_completes_on_the_embedded_default_without_redis(
    service_on_the_embedded_default: ApiClient, challenge_dir: Path
):
    client = service_on_the_embedded_default
    response = client.upload_files(challenge_dir)
    assert response.status_code == 202

    status, _seen = client.follow(response.json()["task_id"], timeout=90)

    assert_challenge_migrated(client, status)
