"""A real web server and a real Celery worker: the Celery task of a job is named for its kind and ends in its
job's state (read back through the result backend and from the worker's task events), and the worker's log
says what an operator needs: one summary line per job and table, each failure at ERROR with its reason, and
(``LOG_FORMAT=json``) one JSON object per line with the job's id, kind and table as fields."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest.submit import root_sources, submit_ingest
from core.jobs.submit import cancel_job
from infra.broker.celery_app import make_celery
from tests.conftest import hireflow_environ
from tests.e2e.api_client import ApiClient, running_service, seed_storage, wait_until
from tests.job_fakes import FakeJobQueue
from tests.views import with_views

pytestmark = pytest.mark.slow

SUMMARY = r"processed (\d+), inserted (\d+), already exists (\d+), rejected (\d+) in [\d.]+ s \(\d+ rows/s\)"


@pytest.fixture(params=["embedded", "redis"])
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The embedded default logs text at INFO; Redis and PostgreSQL log JSON at DEBUG. Both send task events."""
    if request.param == "embedded":
        return hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", WORKER_EVENTS="true")
    return hireflow_environ(
        tmp_path,
        request.getfixturevalue("postgres_url"),
        CELERY_BROKER_URL=request.getfixturevalue("redis_url"),
        CELERY_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        WORKER_EVENTS="true",
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def service(environ: dict[str, str], tmp_path: Path) -> Iterator[ApiClient]:
    yield from running_service(environ, tmp_path, "serve", "worker")


@pytest.fixture
def celery(environ: dict[str, str]) -> Iterator[Celery]:
    """A Celery app on the service's broker and result backend, as Flower or ``celery inspect`` would use."""
    app = make_celery(load_settings(environ), results=True)
    yield app
    app.close()


class TaskEvents:
    """The task events the workers send, gathered from the broker by a thread (what Flower listens to)."""

    def __init__(self, app: Celery) -> None:
        self.app = app
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the event receiver did not start"

    def _listen(self) -> None:
        with self.app.connection_for_read() as connection:
            receiver = self.app.events.Receiver(connection, handlers={"*": self.events.append})
            with receiver.consumer_context(wakeup=False) as (consuming, _channel, _consumers):
                self.ready.set()
                while not self.stopping:
                    try:
                        consuming.drain_events(timeout=0.5)
                    except TimeoutError:
                        continue

    def of(self, task_id: str) -> list[dict[str, Any]]:
        return [event for event in list(self.events) if event.get("uuid") == task_id]

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(10)


@pytest.fixture
def task_events(celery: Celery) -> Iterator[TaskEvents]:
    events = TaskEvents(celery)
    yield events
    events.stop()


def celery_state(celery: Celery, task_id: str) -> Any:
    """The task's result once a worker stored its end (it stores it just after our job table says it ended)."""
    result = celery.AsyncResult(task_id)
    return wait_until(lambda: result if result.ready() else None, 30, f"Celery to store the end of {task_id}")


def finished(client: ApiClient, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    status, _seen = client.follow(response.json()["task_id"], timeout=120)
    return status


def damage_newest_backup(storage: Path, table: str) -> None:
    backup = max((storage / "backups" / table).glob("*.avro"))
    backup.write_bytes(backup.read_bytes()[:1000])


def worker_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "worker.log").read_text(errors="replace").splitlines()


def json_records(lines: list[str]) -> list[dict[str, Any]]:
    """Every line of the worker's output, read as one JSON object each (a line that is not fails the test)."""
    return [json.loads(line) for line in lines if line.strip()]


def test_a_failed_restore_ends_failure_and_an_ingest_success_in_celery_under_their_kind_names_and_in_the_log(
    service: ApiClient,
    celery: Celery,
    task_events: TaskEvents,
    environ: dict[str, str],
    tmp_path: Path,
    challenge_dir: Path,
):
    client = service
    ingest = finished(client, client.upload_files(challenge_dir))
    assert ingest["state"] == "SUCCESS"
    assert finished(client, client.backup())["state"] == "SUCCESS"
    damage_newest_backup(tmp_path / "storage", "jobs")
    restore = finished(client, client.restore({"table": "jobs"}))
    assert restore["state"] == "FAILURE" and "does not match its checksum" in restore["error"]
    # A job after the failure runs: a failed task's message was acknowledged, not handed out again.
    again = finished(client, client.upload_files(challenge_dir))
    assert again["state"] == "SUCCESS"

    succeeded = celery_state(celery, ingest["task_id"])
    assert (succeeded.state, succeeded.name, succeeded.result) == ("SUCCESS", "hireflow.ingest", "finished")
    failed = celery_state(celery, restore["task_id"])
    assert (failed.state, failed.name) == ("FAILURE", "hireflow.restore")
    assert type(failed.result).__name__ == "JobFailed" and restore["error"] in str(failed.result)
    assert client.task(restore["task_id"])["attempts"] == 1

    events = wait_until(
        lambda: (found := task_events.of(restore["task_id"])) and found[-1]["type"] == "task-failed" and found,
        30,
        "the worker's task-failed event",
    )
    assert [e["type"] for e in events] == ["task-received", "task-started", "task-failed"]
    assert events[0]["name"] == "hireflow.restore" and restore["error"] in events[-1]["exception"]
    assert task_events.of(ingest["task_id"])[0]["name"] == "hireflow.ingest"

    lines = worker_lines(tmp_path)
    received = [line for line in lines if f"hireflow.restore[{restore['task_id']}] received" in line]
    assert len(received) == 1
    if environ.get("LOG_FORMAT") == "json":
        assert_json_log(json_records(lines), ingest["task_id"], restore)
        served = json_records((tmp_path / "serve.log").read_text().splitlines())
        assert {"gunicorn.error", "gunicorn.access"} <= {record["logger"] for record in served}
    else:
        assert_text_log(lines, ingest["task_id"], restore)


def assert_text_log(lines: list[str], ingest_id: str, restore: dict[str, Any]) -> None:
    tables = {
        match.group(1): tuple(int(n) for n in match.groups()[1:])
        for line in lines
        if (match := re.search(rf" INFO .* task {ingest_id} \(ingest\) ([a-z_]+): {SUMMARY}$", line))
    }
    assert tables == {
        "departments": (12, 12, 0, 0),
        "jobs": (183, 183, 0, 0),
        "hired_employees": (1999, 1929, 0, 70),
    }
    job = [line for line in lines if re.search(rf" INFO .* task {ingest_id} \(ingest\) SUCCESS: {SUMMARY}$", line)]
    assert len(job) == 1 and "processed 2194, inserted 2124, already exists 0, rejected 70" in job[0]
    assert not [line for line in lines if "rejected hired_employees row" in line], "per-row lines are DEBUG"
    failure = [line for line in lines if f"task {restore['task_id']} (restore) FAILURE" in line]
    assert len(failure) == 1 and " ERROR " in failure[0] and failure[0].endswith(restore["error"])
    assert not [line for line in lines if " ERROR " in line and line not in failure]


def assert_json_log(records: list[dict[str, Any]], ingest_id: str, restore: dict[str, Any]) -> None:
    of_ingest = [r for r in records if r.get("job_id") == ingest_id]
    rejected = [r for r in of_ingest if r["message"].startswith("rejected hired_employees row")]
    assert len(rejected) == 70
    assert {(r["level"], r["table"], r["kind"]) for r in rejected} == {("DEBUG", "hired_employees", "ingest")}
    summaries = {r["table"]: r for r in of_ingest if r["level"] == "INFO" and "rows_per_second" in r and "table" in r}
    assert {t: (s["processed"], s["inserted"], s["already_exists"], s["rejected"]) for t, s in summaries.items()} == {
        "departments": (12, 12, 0, 0),
        "jobs": (183, 183, 0, 0),
        "hired_employees": (1999, 1929, 0, 70),
    }
    assert all(s["seconds"] >= 0 and s["rows_per_second"] >= 0 for s in summaries.values())
    job = [r for r in of_ingest if r.get("state") == "SUCCESS"]
    assert len(job) == 1 and (job[0]["processed"], job[0]["rejected"], job[0]["kind"]) == (2194, 70, "ingest")
    errors = [r for r in records if r["level"] == "ERROR"]
    assert [(r["job_id"], r["kind"], r["error"]) for r in errors] == [(restore["task_id"], "restore", restore["error"])]


def test_a_message_under_the_old_task_name_still_runs_its_job_and_a_cancelled_job_ends_revoked(
    service: ApiClient, celery: Celery, task_events: TaskEvents, environ: dict[str, str]
):
    services = with_views(bootstrap(load_settings(environ)))
    try:
        seed_storage(services.storage, 50, seed=13)
        recorded = FakeJobQueue()
        old = submit_ingest(services.database, recorded, services.storage, root_sources())
        cancelled = submit_ingest(services.database, recorded, services.storage, root_sources())
        cancel_job(services.database, cancelled.id)

        services.queue.enqueue(old.id)  # no kind: the name every message had before, hireflow.run_job
        services.queue.enqueue(cancelled.id, "ingest")

        ran = celery_state(celery, old.id)
        assert (ran.state, ran.name) == ("SUCCESS", "hireflow.run_job")
        assert service.task(old.id)["state"] == "SUCCESS"
        revoked = celery_state(celery, cancelled.id)
        assert revoked.state == "REVOKED"
        told = wait_until(lambda: task_events.of(cancelled.id), 30, "the cancelled task's events")
        assert told[0]["name"] == "hireflow.ingest"
        wait_until(lambda: task_events.of(cancelled.id)[-1]["type"] == "task-revoked", 30, "its task-revoked event")
        assert service.task(cancelled.id)["state"] == "CANCELLED"
    finally:
        services.dispose()
