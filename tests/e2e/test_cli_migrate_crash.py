"""``python main.py migrate`` killed mid-file: its task is a task like any other, so a worker's sweep takes it up
after its lease and resumes it after the last committed batch, and every valid row lands exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import hireflow_environ
from tests.e2e.api_client import seed_storage, start, stop, wait_until
from tests.e2e.job_checks import assert_every_valid_row_once, employees_processed, finished
from tests.views import with_views

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
LEASE = 3


def test_a_migrate_killed_mid_file_is_resumed_by_a_worker_and_every_valid_row_lands_once(tmp_path: Path) -> None:
    environ = hireflow_environ(
        tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", JOB_LEASE_SECONDS=str(LEASE), JOB_SWEEP_SECONDS="1"
    )
    services = with_views(bootstrap(load_settings(environ)))
    valid_ids = seed_storage(services.storage, EMPLOYEES, seed=11)

    def running_task() -> str | None:
        tasks, _total = services.jobs.newest(kind="ingest")
        return tasks[0].id if tasks and employees_processed(services, tasks[0].id) >= 20_000 else None

    command = start("migrate", environ, tmp_path / "migrate.log")
    try:
        task_id = wait_until(running_task, 120, "migrate to be well in", 0.02)
    finally:
        stop(command, signal.SIGKILL)
    killed = services.jobs.get(task_id)
    assert killed.state == "PROGRESS" and killed.worker.startswith("cli@")
    assert employees_processed(services, task_id) < EMPLOYEES

    worker = start("worker", environ, tmp_path / "worker.log")
    try:
        done = finished(services, task_id, 4 * LEASE + 180)
    finally:
        stop(worker)
    assert done.attempts == 2 and not done.worker.startswith("cli@")
    assert_every_valid_row_once(services, done, valid_ids, EMPLOYEES)
    services.dispose()
