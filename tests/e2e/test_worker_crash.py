"""A worker killed with SIGKILL mid-file: the task is delivered again and ends with every valid row exactly once."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest_jobs import root_sources, submit_ingest
from infra.db.schema import hired_employees, rejected_rows
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until

pytestmark = pytest.mark.slow

EMPLOYEES = 200_000


def test_a_worker_killed_mid_file_is_redelivered_and_every_valid_row_lands_exactly_once(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    environ = hireflow_environ(
        tmp_path,
        postgres_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        CELERY_VISIBILITY_TIMEOUT="4",
        JOB_LEASE_SECONDS="3",
    )
    services = bootstrap(load_settings(environ))
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=7)
    job = submit_ingest(services.jobs, services.queue, services.storage, root_sources(), admission=services.admission)

    def employees_processed() -> int:
        found = services.jobs.get(job.id)
        assert found is not None
        return found.progress.counts.get("hired_employees", {}).get("processed", 0)

    first = start("worker", environ, tmp_path / "worker-1.log")
    try:
        wait_until(lambda: employees_processed() >= 20_000, 120, "the first worker to be well into the file", 0.02)
    finally:
        stop(first, signal.SIGKILL)
    at_kill = employees_processed()
    time.sleep(1)
    assert services.jobs.get(job.id).state == "PROGRESS"
    assert at_kill < EMPLOYEES

    second = start("worker", environ, tmp_path / "worker-2.log")
    try:
        done = wait_until(
            lambda: (found := services.jobs.get(job.id)) is not None and found.finished and found, 180, "the job"
        )
    finally:
        stop(second)

    assert done.state == "SUCCESS", done.error
    assert done.attempts >= 2
    counts = done.result["tables"]["hired_employees"]
    assert counts == {
        "processed": EMPLOYEES,
        "inserted": len(valid_ids),
        "already_exists": 0,
        "rejected": EMPLOYEES - len(valid_ids),
    }
    with services.engine.connect() as conn:
        stored = list(conn.execute(select(hired_employees.c.id)).scalars())
        logged = conn.execute(
            select(func.count(), func.count(func.distinct(rejected_rows.c.line_number))).where(
                rejected_rows.c.job_id == job.id
            )
        ).one()
    assert len(stored) == len(valid_ids) and set(stored) == valid_ids
    assert tuple(logged) == (EMPLOYEES - len(valid_ids),) * 2
    services.dispose()
