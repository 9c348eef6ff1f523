"""A restore and another writer of the same table never both pending or running: through the API, at the
same instant from several threads, and again when a worker starts a job, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api import create_app
from core.backup.back_up import backup_tables
from core.clock import utcnow
from core.jobs.runner import run_job
from core.jobs.submit import new_job_id
from domain.background_jobs import BackgroundJob, JobState
from domain.entities import TABLES
from tests.conftest import sign_in
from tests.integration.test_backup_api import finished, loaded, run_queued  # noqa: F401 - a fixture
from tests.integration.test_backup_restore import contents, vandalise
from tests.together import at_once

ROUNDS = 5


@pytest.fixture
def backed_up(client: Any, loaded: Any, challenge_dir: Path) -> Any:  # noqa: F811
    """The challenge data loaded and backed up, with its CSVs at the storage root for ingests from storage."""
    assert finished(client, loaded, client.post("/backup"))["state"] == "SUCCESS"
    for table in TABLES:
        loaded.storage.write(f"{table}.csv", (challenge_dir / f"{table}.csv").read_bytes())
    return loaded


def upload(client: Any, folder: Path, tables: tuple[str, ...] = tuple(TABLES)) -> Any:
    files = {t: ((folder / f"{t}.csv").open("rb"), f"{t}.csv") for t in tables}
    return client.post("/upload-files", data=files, content_type="multipart/form-data")


def refusal(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    error: dict[str, Any] = response.json["error"]
    assert error["code"] == "table_busy"
    return error


def test_a_restore_is_refused_with_409_naming_the_pending_ingest_of_its_table(client, backed_up, challenge_dir):
    ingest = upload(client, challenge_dir, ("jobs",)).json["task_id"]

    error = refusal(client.post("/restore", json={"table": "jobs"}))

    assert error["message"] == (
        f"jobs is being written by task {ingest} (ingest, PENDING); a restore must wait until it has finished"
    )
    assert error["details"] == {"task_id": ingest, "kind": "ingest", "state": "PENDING", "tables": ["jobs"]}
    assert client.get("/task-list?kind=restore").json["total"] == 0


def test_a_restore_is_refused_while_an_ingest_of_its_table_runs(client, backed_up):
    ingest = client.post("/departments").json["task_id"]
    backed_up.jobs.claim(ingest, "busy-worker", utcnow(), utcnow() - timedelta(seconds=30))

    error = refusal(client.post("/restore", json={"tables": ["departments", "jobs", "hired_employees"]}))

    assert error["details"] == {"task_id": ingest, "kind": "ingest", "state": "STARTED", "tables": ["departments"]}


def test_a_restore_is_refused_while_a_part_of_a_split_ingest_runs(client, backed_up):
    part = BackgroundJob(id=new_job_id(), kind="ingest_part", params={"table": "hired_employees"}, created_at=utcnow())
    backed_up.jobs.add(part)

    error = refusal(client.post("/restore", json={"table": "hired_employees"}))

    assert error["details"]["task_id"] == part.id and error["details"]["kind"] == "ingest_part"


def test_a_second_restore_of_a_table_is_refused_while_the_first_is_pending(client, backed_up):
    first = client.post("/restore", json={"tables": ["jobs", "hired_employees"]}).json["task_id"]

    error = refusal(client.post("/restore", json={"table": "hired_employees"}))

    assert error["message"] == (
        f"hired_employees is being restored by task {first} (restore, PENDING); try again once it has finished"
    )


def test_writers_of_other_tables_and_backups_are_not_in_a_restores_way(client, backed_up, challenge_dir):
    assert client.post("/restore", json={"table": "hired_employees"}).status_code == 202

    assert upload(client, challenge_dir, ("departments", "jobs")).status_code == 202
    assert client.post("/jobs", json=[{"id": 184, "job": "Data Engineer"}]).status_code == 200
    assert client.post("/backup").status_code == 202
    assert client.post("/restore", json={"table": "departments"}).status_code == 409  # the ingest above


def test_an_upload_is_refused_with_409_naming_the_pending_restore_and_its_files_are_not_kept(
    client, backed_up, challenge_dir
):
    restore = client.post("/restore", json={"table": "hired_employees"}).json["task_id"]
    stored_before = {blob.name for blob in backed_up.storage.list("uploads/")}

    error = refusal(upload(client, challenge_dir))

    assert error["message"] == (
        f"hired_employees is being restored by task {restore} (restore, PENDING); try again once it has finished"
    )
    assert error["details"] == {
        "task_id": restore,
        "kind": "restore",
        "state": "PENDING",
        "tables": ["hired_employees"],
    }
    assert {blob.name for blob in backed_up.storage.list("uploads/")} == stored_before
    assert client.get("/task-list?kind=ingest").json["total"] == 0


def test_queueing_a_table_from_storage_is_refused_while_its_restore_runs(client, backed_up):
    restore = client.post("/restore", json={"table": "jobs"}).json["task_id"]
    backed_up.jobs.claim(restore, "busy-worker", utcnow(), utcnow() - timedelta(seconds=30))

    for path in ("/jobs", "/upload-files"):
        error = refusal(client.post(path))
        assert error["details"] == {"task_id": restore, "kind": "restore", "state": "STARTED", "tables": ["jobs"]}


def test_rows_sent_to_a_table_being_restored_are_refused_with_409_and_not_inserted(client, backed_up):
    restore = client.post("/restore", json={"table": "jobs"}).json["task_id"]

    error = refusal(client.post("/jobs", json=[{"id": 184, "job": "Data Engineer"}]))

    assert (
        error["message"]
        == f"jobs is being restored by task {restore} (restore, PENDING); try again once it has finished"
    )
    assert backed_up.store.count_rows("jobs") == 183
    assert client.post("/departments", json=[{"id": 13, "department": "Supply Chain"}]).status_code == 200


def test_once_the_restore_finished_the_table_takes_rows_and_ingests_again(client, backed_up, challenge_dir):
    vandalise(backed_up.engine)
    restore = client.post("/restore", json={"table": "jobs"})
    assert finished(client, backed_up, restore)["state"] == "SUCCESS"

    assert client.post("/jobs", json=[{"id": 184, "job": "Data Engineer"}]).json["inserted"] == 1
    assert upload(client, challenge_dir, ("jobs",)).status_code == 202


def test_a_restore_and_an_ingest_asked_at_the_same_instant_never_both_pass(services, challenge_dir):
    services.storage.write("jobs.csv", (challenge_dir / "jobs.csv").read_bytes())
    backup_tables(services.database, services.storage, services.backup_format, ["jobs"])
    app = create_app(services)
    restorer, loader = sign_in(app.test_client()), sign_in(app.test_client())
    for _round in range(ROUNDS):
        asks = (lambda: restorer.post("/restore", json={"table": "jobs"}), lambda: loader.post("/jobs"))

        answers = at_once(2, lambda i, asks=asks: asks[i]())

        assert sorted(a.status_code for a in answers) == [202, 409], [a.json for a in answers]
        accepted = next(a for a in answers if a.status_code == 202).json["task_id"]
        assert next(a for a in answers if a.status_code == 409).json["error"]["details"]["task_id"] == accepted
        services.jobs.finish(accepted, JobState.CANCELLED, utcnow())


def test_restores_asked_by_eight_clients_at_the_same_instant_pass_once(services):
    backup_tables(services.database, services.storage, services.backup_format, ["jobs"])
    app = create_app(services)
    clients = [sign_in(app.test_client()) for _ in range(8)]
    for _round in range(ROUNDS):
        answers = at_once(8, lambda i: clients[i].post("/restore", json={"table": "jobs"}))

        assert sorted(a.status_code for a in answers) == [202] + [409] * 7
        accepted = next(a for a in answers if a.status_code == 202).json["task_id"]
        assert all(a.json["error"]["details"]["task_id"] == accepted for a in answers if a.status_code == 409)
        services.jobs.finish(accepted, JobState.CANCELLED, utcnow())


def test_a_restore_recorded_beside_an_earlier_ingest_fails_when_a_worker_starts_it_and_the_ingest_runs(
    client, backed_up
):
    ingest = client.post("/jobs").json["task_id"]
    # Recorded without the admission check, as a job recorded by an older version would be.
    restore = BackgroundJob(id=new_job_id(), kind="restore", params={"backups": {"jobs": None}}, created_at=utcnow())
    backed_up.jobs.add(restore)

    run_job(backed_up.database, backed_up.handlers, restore.id, worker="w", lease_seconds=30)
    run_queued(backed_up)

    failed = client.get(f"/task-status/{restore.id}").json
    assert failed["state"] == "FAILURE"
    assert (
        failed["error"]
        == f"jobs is being written by task {ingest} (ingest, PENDING); a restore must wait until it has finished"
    )
    assert client.get(f"/task-status/{ingest}").json["state"] == "SUCCESS"


def test_an_earlier_job_does_not_start_beside_a_later_one_that_already_runs(client, backed_up):
    vandalise(backed_up.engine)
    before = contents(backed_up.engine)
    restore = BackgroundJob(id=new_job_id(), kind="restore", params={"backups": {"jobs": None}}, created_at=utcnow())
    backed_up.jobs.add(restore)
    ingest = BackgroundJob(
        id=new_job_id(), kind="ingest", params={"sources": {"jobs": "jobs.csv"}}, created_at=utcnow()
    )
    backed_up.jobs.add(ingest)
    backed_up.jobs.claim(ingest.id, "busy-worker", utcnow(), utcnow() - timedelta(seconds=30))

    run_job(backed_up.database, backed_up.handlers, restore.id, worker="w", lease_seconds=30)

    failed = client.get(f"/task-status/{restore.id}").json
    assert failed["state"] == "FAILURE" and f"task {ingest.id} (ingest, STARTED)" in failed["error"]
    assert contents(backed_up.engine) == before


def test_an_ingest_recorded_beside_an_earlier_restore_fails_when_a_worker_starts_it(client, backed_up):
    restore = client.post("/restore", json={"table": "jobs"}).json["task_id"]
    ingest = BackgroundJob(
        id=new_job_id(), kind="ingest", params={"sources": {"jobs": "jobs.csv"}}, created_at=utcnow()
    )
    backed_up.jobs.add(ingest)

    run_job(backed_up.database, backed_up.handlers, ingest.id, worker="w", lease_seconds=30)

    failed = client.get(f"/task-status/{ingest.id}").json
    assert failed["state"] == "FAILURE"
    assert (
        failed["error"]
        == f"jobs is being restored by task {restore} (restore, PENDING); try again once it has finished"
    )
    run_queued(backed_up)
    assert client.get(f"/task-status/{restore}").json["state"] == "SUCCESS"
