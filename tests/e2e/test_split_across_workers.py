"""Two worker processes on Redis and PostgreSQL share one large file, and every valid row lands exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest.submit import root_sources, submit_ingest
from infra.db.schema import hired_employees, rejected_rows
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000


def test_two_workers_each_load_a_part_of_one_file_and_the_job_ends_with_every_valid_row_once(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    environ = hireflow_environ(
        tmp_path,
        postgres_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        INGEST_PARTS="2",
        INGEST_PART_MIN_BYTES="1",
    )
    services = with_views(bootstrap(load_settings(environ)))
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=17)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start("worker", environ, log) for log in logs]
    try:
        wait_until(lambda: all(b"ready" in log.read_bytes() for log in logs if log.exists()), 60, "both workers")
        job = submit_ingest(services.database, services.queue, services.storage, root_sources())
        done = wait_until(
            lambda: (found := services.jobs.get(job.id)) is not None and found.finished and found, 120, "the job"
        )
    finally:
        for worker in workers:
            stop(worker)

    parts, total = services.jobs.newest(kind="ingest_part")
    assert done.state == "SUCCESS", done.error
    assert total == 2 and all(part.state == "SUCCESS" for part in parts)
    assert len({part.worker for part in parts}) == 2
    assert done.result["tables"]["hired_employees"] == {
        "processed": EMPLOYEES,
        "inserted": len(valid_ids),
        "already_exists": 0,
        "rejected": EMPLOYEES - len(valid_ids),
    }
    assert done.progress.counts == done.result["tables"]
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
