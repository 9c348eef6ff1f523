"""The scheduled backup's Celery task, run directly as a worker would run it when beat sends it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from core.backup.catalogue import list_backups
from core.ingest.loader import ingest_sources
from core.jobs.runner import run_job
from domain.entities import TABLES
from infra.broker.celery_app import SCHEDULED_BACKUP_TASK, make_celery
from infra.broker.tasks import register_tasks
from infra.storage.local import LocalFolderStorage
from tests.integration.test_cli import run_cli


def run_queued(services: Any) -> None:
    while services.queue.queued:
        job_id = services.queue.queued.pop(0)
        run_job(services.database, services.handlers, job_id, worker="test-worker", lease_seconds=30)


@pytest.fixture
def scheduled_backup(services: Any, challenge_dir: Path) -> Any:
    """The scheduled backup task of a real Celery app, on services that keep the newest 2 backups."""
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), {t: f"{t}.csv" for t in TABLES})
    services.settings = dataclasses.replace(services.settings, backup_schedule="0 3 * * *", backup_retention=2)
    app = make_celery(services.settings)
    register_tasks(app, lambda: services)
    return app.tasks[SCHEDULED_BACKUP_TASK]


def test_the_scheduled_task_records_a_backup_job_and_queues_it(services, scheduled_backup):
    job_id = scheduled_backup()

    assert services.queue.queued == [job_id]
    job = services.jobs.get(job_id)
    assert job.kind == "backup" and job.state.value == "PENDING"
    assert job.params == {"tables": list(TABLES), "keep": 2}


def test_each_scheduled_backup_backs_up_every_table_then_keeps_the_newest_two(services, scheduled_backup):
    made = []
    for _ in range(3):
        job_id = scheduled_backup()
        run_queued(services)
        job = services.jobs.get(job_id)
        assert job.state.value == "SUCCESS", job.error
        made.append({b["table"]: b["id"] for b in job.result["backups"]})

    assert len(job.result["pruned"]) == 3
    assert {(p["table"], p["id"]) for p in job.result["pruned"]} == {(t, made[0][t]) for t in TABLES}
    for table in TABLES:
        assert [b.id for b in list_backups(services.storage, table)] == [made[2][table], made[1][table]]


def test_the_scheduled_backups_are_listed_as_tasks_like_any_other(client, services, scheduled_backup):
    job_id = scheduled_backup()
    run_queued(services)
    listing = client.get("/task-list?kind=backup").json
    assert [item["task_id"] for item in listing["items"]] == [job_id]
    assert listing["items"][0]["state"] == "SUCCESS"


@pytest.mark.parametrize(
    ("command", "schedule", "words"),
    [
        ("beat", "every day", "BACKUP_SCHEDULE must be a crontab line"),
        ("worker", "0 25 * * *", "hour field '25'"),
        ("run", "0 3 * * * *", "6 fields"),
    ],
)
def test_beat_without_a_valid_schedule_stops_at_start_with_one_clear_line(
    tmp_path: Path, command: str, schedule: str, words: str
) -> None:
    env = {"BACKUP_SCHEDULE": schedule, "STORAGE_URL": (tmp_path / "s").as_uri(), "BROKER_DIR": str(tmp_path / "b")}
    result = run_cli(command, env=env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
