"""A worker killed with SIGKILL mid-file and started again at once, inside its lease: the new worker's sweeps
queue the job again within about two leases, whatever the broker (Redis with its default visibility timeout
of an hour, or the embedded folder, which loses the message), and every valid row lands exactly once."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest

from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until
from tests.e2e.job_checks import (
    assert_every_valid_row_once,
    assert_next_job_runs,
    employees_processed,
    finished,
    submit,
)
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
LEASE = 3


@pytest.fixture(params=["redis", "embedded"])
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


def test_a_worker_killed_mid_file_and_restarted_at_once_resumes_the_job_and_every_valid_row_lands_once(
    tmp_path: Path, environ: dict[str, str]
):
    services = with_views(bootstrap(load_settings(environ)))
    assert services.settings.broker_visibility_timeout == 3600
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=7)
    job = submit(services)

    first = start("worker", environ, tmp_path / "worker-1.log")
    try:
        wait_until(lambda: employees_processed(services, job.id) >= 20_000, 120, "the worker to be well in", 0.02)
    finally:
        stop(first, signal.SIGKILL)
    assert services.jobs.get(job.id).state == "PROGRESS"
    assert employees_processed(services, job.id) < EMPLOYEES

    second = start("worker", environ, tmp_path / "worker-2.log")
    try:
        # Queued again once the lease is stale (one lease after the last heartbeat, plus a sweep), then claimed.
        wait_until(lambda: services.jobs.get(job.id).attempts >= 2, 4 * LEASE + 15, "the job to be taken up again")
        done = finished(services, job.id, 180)
        assert done.attempts == 2
        assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
        assert_next_job_runs(services)
    finally:
        stop(second)
    assert "queued again 1 stalled task(s)" in (tmp_path / "worker-2.log").read_text()
    services.dispose()
