"""A bulk load (a large file into an empty table: secondary indexes dropped for the load) killed with SIGKILL
mid-file: resumed, it ends with every valid row once and every index present; a process started after the
crash builds what is missing before anything else runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from bootstrap import bootstrap
from core.config import load_settings
from infra.db.bulk import drop_secondary, foreign_keys, secondary_indexes
from infra.db.schema import hired_employees, ingest_checkpoints
from tests.conftest import ROOT, hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until
from tests.e2e.job_checks import assert_every_valid_row_once, employees_processed, finished, submit
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
LEASE = 3
INDEXES = {str(index.name) for index in secondary_indexes("hired_employees")}


def index_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {str(index["name"]) for index in inspect(conn).get_indexes("hired_employees")}


def foreign_key_columns(engine: Engine) -> set[tuple[str, ...]]:
    with engine.connect() as conn:
        return {tuple(key["constrained_columns"]) for key in inspect(conn).get_foreign_keys("hired_employees")}


def assert_every_index_present(engine: Engine) -> None:
    assert index_names(engine) >= INDEXES
    if engine.dialect.name == "postgresql":
        wanted = {tuple(c.name for c in key.columns) for key in foreign_keys("hired_employees")}
        assert foreign_key_columns(engine) == wanted
        with engine.connect() as conn:
            unchecked = conn.execute(
                text("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
            ).scalar_one()
        assert unchecked == 0


def employees_stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(hired_employees)).scalar_one())


def pending_checkpoints(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(ingest_checkpoints).where(ingest_checkpoints.c.indexes_pending)
            ).scalar_one()
        )


@pytest.fixture(params=["embedded", "redis"])
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    settings = {"JOB_LEASE_SECONDS": str(LEASE), "JOB_SWEEP_SECONDS": "1"}
    if request.param == "embedded":
        return hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", **settings)
    return hireflow_environ(
        tmp_path,
        request.getfixturevalue("postgres_url"),
        CELERY_BROKER_URL=request.getfixturevalue("redis_url"),
        CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        **settings,
    )


def test_a_worker_killed_in_a_bulk_load_resumes_it_and_ends_with_every_valid_row_once_and_every_index(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    services = with_views(bootstrap(load_settings(environ)))
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=11)
    job = submit(services)

    first = start("worker", environ, tmp_path / "worker-1.log")
    try:
        wait_until(lambda: employees_processed(services, job.id) >= 20_000, 120, "the worker to be well in", 0.02)
    finally:
        stop(first, signal.SIGKILL)
    assert employees_processed(services, job.id) < EMPLOYEES
    assert not index_names(services.engine) & INDEXES, "the load was not in bulk mode"
    assert pending_checkpoints(services.engine) == 1

    second = start("worker", environ, tmp_path / "worker-2.log")
    try:
        done = finished(services, job.id, 240)
        assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
        assert_every_index_present(services.engine)
        assert pending_checkpoints(services.engine) == 0
    finally:
        stop(second)
    services.dispose()


def run_migrate(environ: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "main.py", "migrate", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, **environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_main_py_migrate_killed_in_a_bulk_load_and_run_again_stores_every_valid_row_once_with_every_index(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'hireflow.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    environ = hireflow_environ(tmp_path, url)
    services = bootstrap(load_settings(environ))
    valid_ids = seed_storage(services.storage, 2 * EMPLOYEES, seed=5)

    killed = run_migrate(environ)
    try:
        wait_until(lambda: employees_stored(services.engine) >= 20_000, 120, "migrate to be well in", 0.02)
        dropped = not index_names(services.engine) & INDEXES
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert dropped, "the load was not in bulk mode"
    assert employees_stored(services.engine) < len(valid_ids)

    again = run_migrate(environ)
    assert again.wait(timeout=300) == 0
    with services.engine.connect() as conn:
        stored = list(conn.execute(select(hired_employees.c.id)).scalars())
    assert len(stored) == len(set(stored)) and set(stored) == valid_ids
    assert_every_index_present(services.engine)
    services.dispose()


def test_a_process_started_after_a_crash_builds_the_indexes_a_bulk_load_left_missing(
    tmp_path: Path, database_url: str
) -> None:
    environ = hireflow_environ(tmp_path, database_url)
    services: Any = bootstrap(load_settings(environ))
    with services.engine.begin() as conn:
        dropped = drop_secondary(conn, "hired_employees")
    assert set(dropped) >= INDEXES
    assert not index_names(services.engine) & INDEXES

    started = subprocess.run(
        [sys.executable, "main.py", "init-db"], cwd=ROOT, env={**os.environ, **environ}, capture_output=True, text=True
    )

    assert started.returncode == 0, started.stderr
    assert "left missing by a bulk load" in started.stdout + started.stderr
    assert_every_index_present(services.engine)
    services.dispose()
