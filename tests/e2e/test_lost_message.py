"""A job whose queued message the broker lost (deleted here from Redis, or from the embedded folder) is queued
again by the workers' sweeps once it waited unclaimed with nothing in the queue, and runs to the end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from bootstrap import bootstrap
from core.config import load_settings
from infra.broker.celery_app import QUEUE_NAME
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop
from tests.e2e.job_checks import assert_every_valid_row_once, assert_next_job_runs, finished, submit
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 20_000
PENDING = 3
SETTINGS = {"JOB_LEASE_SECONDS": "3", "JOB_SWEEP_SECONDS": "1", "JOB_PENDING_REQUEUE_SECONDS": str(PENDING)}


@pytest.fixture(params=["redis", "embedded"])
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "embedded":
        return hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", **SETTINGS)
    return hireflow_environ(
        tmp_path,
        request.getfixturevalue("postgres_url"),
        CELERY_BROKER_URL=request.getfixturevalue("redis_url"),
        CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        **SETTINGS,
    )


def delete_queued_messages(environ: dict[str, str]) -> int:
    """Remove every message waiting in the broker's queue, as a broker that lost them would; return how many."""
    if "CELERY_BROKER_URL" in environ:
        client = redis.Redis.from_url(environ["CELERY_BROKER_URL"])
        key = environ["CELERY_KEY_PREFIX"] + QUEUE_NAME
        count = int(client.llen(key))
        client.delete(key)
        return count
    messages = list((Path(environ["BROKER_DIR"]) / "queue").glob(f"*.{QUEUE_NAME}.msg"))
    for message in messages:
        message.unlink()
    return len(messages)


def test_a_job_whose_queued_message_was_lost_is_queued_again_and_every_valid_row_lands_once(
    tmp_path: Path, environ: dict[str, str]
):
    services = with_views(bootstrap(load_settings(environ)))
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=3)
    job = submit(services)
    assert delete_queued_messages(environ) == 1
    assert services.queue.waiting() == 0

    worker = start("worker", environ, tmp_path / "worker.log")
    try:
        done = finished(services, job.id, PENDING + 60)
        assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
        assert done.attempts == 1
        assert_next_job_runs(services)
    finally:
        stop(worker)
    assert f"queued again 1 stalled task(s): {job.id}" in (tmp_path / "worker.log").read_text()
    services.dispose()
