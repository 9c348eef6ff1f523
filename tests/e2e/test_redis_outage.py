"""Redis goes away while a job runs, for a few seconds or for longer than the visibility timeout and the
job itself: the worker stays up and reconnects, the job ends SUCCESS with every valid row once, a job whose
queued message Redis lost with its data runs anyway, and new jobs run. Under ``python main.py run`` the web
server keeps answering."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from bootstrap import bootstrap
from core.backup.submit import submit_backup
from core.config import load_settings
from tests.conftest import ADMIN, free_port, hireflow_environ
from tests.e2e.api_client import ApiClient, seed_storage, start, stop, wait_until
from tests.e2e.job_checks import (
    assert_every_valid_row_once,
    assert_next_job_runs,
    employees_processed,
    finished,
    run_children,
    submit,
)
from tests.e2e.private_services import private_redis
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
SETTINGS = {"JOB_LEASE_SECONDS": "3", "JOB_SWEEP_SECONDS": "1", "JOB_PENDING_REQUEUE_SECONDS": "3"}


def test_a_redis_restart_of_a_few_seconds_under_run_stops_no_process_and_the_job_ends_with_every_row_once(
    tmp_path: Path, postgres_url: str
):
    port = free_port()
    # Two pool processes: with one job running, the worker waits on Redis for more, as it did when it crashed.
    with private_redis(tmp_path / "redis", persistent=True) as broker:
        environ = hireflow_environ(
            tmp_path, postgres_url, CELERY_BROKER_URL=broker.url, WORKER_CONCURRENCY="2", PORT=str(port), **SETTINGS
        )
        services = with_views(bootstrap(load_settings(environ)))
        valid_ids = seed_storage(services.storage, EMPLOYEES, seed=5)
        run = start("run", environ, tmp_path / "run.log")
        client = ApiClient(f"http://127.0.0.1:{port}")
        try:
            wait_until(client.is_up, 60, "the web server and the worker", interval=0.3)
            client.sign_in(*ADMIN)
            worker = wait_until(lambda: run_children(run.pid).get("worker"), 30, "the worker")
            response = client.http.post(f"{client.base_url}/upload-files", timeout=30)
            assert response.status_code == 202, response.text
            job_id = response.json()["task_id"]
            wait_until(lambda: employees_processed(services, job_id) >= 20_000, 120, "the job to be well in", 0.02)

            broker.stop()
            health = []
            back_at = time.monotonic() + 3
            while time.monotonic() < back_at:
                health.append(client.http.get(f"{client.base_url}/health", timeout=10).status_code)
            broker.start()

            done = finished(services, job_id, 120)
            assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
            backup = client.backup({"tables": ["departments"]})
            assert backup.status_code == 202, backup.text
            assert client.follow(backup.json()["task_id"], 60)[0]["state"] == "SUCCESS"
            assert 503 in health and client.is_up()
            assert run.poll() is None and run_children(run.pid)["worker"] == worker
        except requests.ConnectionError as error:
            pytest.fail(f"the web server stopped answering: {error}")
        finally:
            stop(run)
    log = (tmp_path / "run.log").read_text()
    assert "Unrecoverable error" not in log and "exited with code" not in log
    services.dispose()


def test_redis_away_for_a_minute_and_the_job_loses_nothing_and_lost_messages_are_sent_again(
    tmp_path: Path, postgres_url: str
):
    # An outage of a minute, longer than the visibility timeout (6 s here) and than the running job.
    with private_redis(tmp_path / "redis") as broker:
        environ = hireflow_environ(
            tmp_path, postgres_url, CELERY_BROKER_URL=broker.url, CELERY_VISIBILITY_TIMEOUT="6", **SETTINGS
        )
        services = with_views(bootstrap(load_settings(environ)))
        valid_ids = seed_storage(services.storage, EMPLOYEES, seed=9)
        worker = start("worker", environ, tmp_path / "worker.log")
        try:
            job = submit(services)
            queued = submit_backup(services.database, services.queue, ["departments"])
            wait_until(lambda: employees_processed(services, job.id) >= 10_000, 120, "the job to be well in", 0.02)

            broker.stop()
            time.sleep(60)
            assert services.jobs.get(queued.id).state == "PENDING"
            broker.start()

            done = finished(services, job.id, 120)
            assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
            assert finished(services, queued.id, 60).state == "SUCCESS"
            assert_next_job_runs(services)
            assert worker.poll() is None
        finally:
            stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert "Unrecoverable error" not in log
    assert f"queued again 1 stalled task(s): {queued.id}" in log
    services.dispose()
