"""A PostgreSQL outage of half a minute while a job runs, with a Redis visibility timeout of a few seconds:
the job never has more than two messages in Redis (the one a worker holds and one copy Redis handed out again),
none once the workers gave it back to the job table, and it ends SUCCESS once the database is back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from bootstrap import bootstrap
from core.config import load_settings
from infra.broker.celery_app import QUEUE_NAME
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until
from tests.e2e.job_checks import (
    assert_every_valid_row_once,
    assert_next_job_runs,
    employees_processed,
    finished,
    submit,
)
from tests.e2e.private_services import private_postgres, private_redis
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
LEASE = 3
# With the old 1, 2, 4, 8… second retries, every retry that waited longer than this was handed out twice by Redis,
# and the copies doubled again at each step after the eighth second of an outage.
VISIBILITY_TIMEOUT = 2 * LEASE
OUTAGE_SECONDS = 60


def messages_for(client: redis.Redis, job_id: str) -> int:
    """The job's messages in Redis: waiting in the queue, or handed to a worker and not yet acknowledged."""
    messages = [*client.lrange(QUEUE_NAME, 0, -1), *client.hvals("unacked")]
    return sum(job_id.encode() in message for message in messages)


def test_a_database_outage_leaves_one_chain_of_retries_per_job_and_the_job_ends_with_every_row_once(
    tmp_path: Path,
):
    with private_postgres() as database, private_redis(tmp_path / "redis") as broker:
        environ = hireflow_environ(
            tmp_path,
            database.url,
            CELERY_BROKER_URL=broker.url,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            JOB_LEASE_SECONDS=str(LEASE),
            JOB_SWEEP_SECONDS="1",
            JOB_PENDING_REQUEUE_SECONDS=str(LEASE),
        )
        services = with_views(bootstrap(load_settings(environ)))
        valid_ids = seed_storage(services.storage, EMPLOYEES, seed=11)
        worker = start("worker", environ, tmp_path / "worker.log")
        try:
            job = submit(services)
            wait_until(lambda: employees_processed(services, job.id) >= 10_000, 120, "the job to be well in", 0.02)
            database.stop()
            counts = []
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                counts.append(messages_for(broker.client, job.id))
                time.sleep(0.25)
            database.start()

            done = finished(services, job.id, 120)
            assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
            assert_next_job_runs(services)
            wait_until(lambda: messages_for(broker.client, job.id) == 0, 3 * VISIBILITY_TIMEOUT, "no message left")
        finally:
            stop(worker)
        services.dispose()

    assert max(counts) <= 2, counts
    assert set(counts[-len(counts) // 3 :]) == {0}, counts
    log = (tmp_path / "worker.log").read_text()
    assert "database unavailable" in log and "it is queued again once the database is back" in log
