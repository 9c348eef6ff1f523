"""The task endpoints through the Flask test client, with the queued jobs run in the test as a worker would."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from core.jobs.runner import run_job
from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows, write_sample
from domain.entities import TABLES
from tests.conftest import hireflow_environ, sign_in


def run_queued(services: Any) -> None:
    while services.queue.queued:
        job_id = services.queue.queued.pop(0)
        run_job(services.database, services.handlers, job_id, worker="test-worker", lease_seconds=30)


def test_uploading_the_challenge_files_migrates_them_with_70_rejections(client, services, challenge_dir):
    files = {name: (io.BytesIO((challenge_dir / f"{name}.csv").read_bytes()), f"{name}.csv") for name in TABLES}
    response = client.post("/upload-files", data=files, content_type="multipart/form-data")

    assert response.status_code == 202
    task_id = response.json["task_id"]
    assert response.headers["Location"] == f"/task-status/{task_id}"
    assert services.storage.exists(f"uploads/{task_id}/hired_employees.csv")
    assert client.get(f"/task-status/{task_id}").json["state"] == "PENDING"

    run_queued(services)

    status = client.get(f"/task-status/{task_id}").json
    assert status["state"] == "SUCCESS" and status["percent"] == 100.0
    assert {t: c["inserted"] for t, c in status["counts"].items()} == {
        "departments": 12,
        "jobs": 183,
        "hired_employees": 1929,
    }
    assert status["result"]["rejected"] == 70
    rejections = client.get(f"/task-status/{task_id}/rejections?per_page=1000").json
    assert rejections["total"] == 70 and len(rejections["items"]) == 70
    assert all(item["reasons"] for item in rejections["items"])
    downloaded = client.get(f"/task-status/{task_id}/rejections?format=csv")
    assert downloaded.mimetype == "text/csv"
    assert "attachment" in downloaded.headers["Content-Disposition"]
    assert len(list(csv.reader(io.StringIO(downloaded.text)))) == 71


@pytest.fixture
def sample(services: Any) -> None:
    write_sample(services.storage, employees=2500, invalid_share=0.04)


def test_with_no_body_the_files_at_the_storage_root_are_migrated(client, services, sample):
    response = client.post("/upload-files")
    assert response.status_code == 202
    run_queued(services)
    status = client.get(response.headers["Location"]).json
    assert status["state"] == "SUCCESS"
    assert status["params"]["sources"]["hired_employees"] == "hired_employees.csv"
    assert status["rows_done"] == 12 + 183 + 2500
    assert services.store.count_rows("hired_employees") == status["counts"]["hired_employees"]["inserted"]


@pytest.mark.parametrize(
    ("path", "table"),
    [("/departments", "departments"), ("/jobs", "jobs"), ("/upload-hired-employees", "hired_employees")],
)
def test_an_empty_post_on_a_table_path_queues_that_table_alone(client, services, sample, path, table):
    if table == "hired_employees":
        client.post("/departments")
        client.post("/jobs")
        run_queued(services)
    response = client.post(path)
    assert response.status_code == 202
    status = client.get(response.headers["Location"]).json
    assert status["params"] == {"sources": {table: f"{table}.csv"}}
    run_queued(services)
    assert client.get(response.headers["Location"]).json["state"] == "SUCCESS"


def test_a_batch_post_with_a_body_still_inserts_synchronously(client, services):
    response = client.post("/departments", json=[{"id": 1, "department": "Staff"}])
    assert response.status_code == 200 and response.json["inserted"] == 1
    assert services.queue.queued == []


def test_a_missing_source_is_refused_at_submit_with_its_name(client, services):
    services.storage.write("departments.csv", csv_bytes(departments_rows()))
    response = client.post("/upload-files")
    assert response.status_code == 404
    assert response.json["error"]["details"]["missing"] == ["jobs.csv", "hired_employees.csv"]
    assert client.get("/task-list").json["total"] == 0


def test_uploading_only_employees_migrates_that_file_alone(client, services):
    client.post("/departments", data=csv_bytes(departments_rows()), content_type="text/csv")
    client.post("/jobs", json=[{"id": int(i), "job": name} for i, name in jobs_rows()[:100]])
    data = {"hired_employees": (io.BytesIO(csv_bytes(employee_rows(300, 0.0))), "anything.csv")}
    response = client.post("/upload-hired-employees", data=data, content_type="multipart/form-data")
    assert response.status_code == 202
    run_queued(services)
    status = client.get(response.headers["Location"]).json
    assert status["state"] == "SUCCESS"
    inserted = status["counts"]["hired_employees"]["inserted"]
    rejected = status["counts"]["hired_employees"]["rejected"]
    assert inserted + rejected == 300 and rejected > 0  # jobs above 100 are unknown references


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (lambda: {"salaries": (io.BytesIO(b"1,2\n"), "s.csv")}, "multipart/form-data", 400, "invalid_request"),
        (lambda: {"departments": "1,Sales"}, "multipart/form-data", 400, "invalid_request"),
        (lambda: b'{"departments": "x"}', "application/json", 415, "unsupported_content_type"),
    ],
    ids=["unknown-file-field", "text-field-instead-of-file", "json-body"],
)
def test_a_malformed_upload_is_refused_before_any_task_is_recorded(client, data, content_type, status, code):
    response = client.post("/upload-files", data=data(), content_type=content_type)
    assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert client.get("/task-list").json["total"] == 0


def test_an_unknown_task_is_a_404_everywhere(client):
    for method, path in (
        ("get", "/task-status/nope"),
        ("delete", "/task-status/nope"),
        ("post", "/task-status/nope/cancel"),
        ("get", "/task-status/nope/rejections"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_a_pending_task_can_be_cancelled_and_then_runs_nothing(client, services, sample):
    task_id = client.post("/upload-files").json["task_id"]
    assert client.delete(f"/task-status/{task_id}").json["state"] == "CANCELLED"
    again = client.post(f"/task-status/{task_id}/cancel")
    assert again.status_code == 409 and again.json["error"]["code"] == "job_finished"
    assert again.json["error"]["details"] == {"state": "CANCELLED"}
    run_queued(services)
    assert client.get(f"/task-status/{task_id}").json["state"] == "CANCELLED"
    assert services.store.count_rows("departments") == 0


def test_a_finished_task_cannot_be_cancelled(client, services, sample):
    task_id = client.post("/departments").json["task_id"]
    run_queued(services)
    response = client.delete(f"/task-status/{task_id}")
    assert response.status_code == 409 and response.json["error"]["code"] == "job_finished"


def test_the_task_list_is_newest_first_and_filters_by_state_and_kind(client, services, sample):
    first = client.post("/departments").json["task_id"]
    run_queued(services)
    second = client.post("/jobs").json["task_id"]

    listing = client.get("/task-list").json
    assert [item["task_id"] for item in listing["items"]] == [second, first]
    assert [i["task_id"] for i in client.get("/task-list?state=SUCCESS&kind=ingest").json["items"]] == [first]
    assert client.get("/task-list?kind=backup").json["total"] == 0
    assert client.get("/task-list?page=2&per_page=1").json["items"][0]["task_id"] == first
    assert client.get("/task-list?per_page=0").status_code == 400
    assert client.get("/task-list?state=DONE").json["error"]["code"] == "invalid_request"


def test_a_broker_that_is_down_answers_503_and_records_the_failure(client, services, sample):
    services.queue.broken = True
    response = client.post("/upload-files")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert client.get("/task-list?state=FAILURE").json["total"] == 1
    assert client.get("/health").json["components"]["broker"]["status"] == "down"


def test_a_database_that_is_down_answers_503_with_a_clear_message(tmp_path):
    from api import create_app
    from bootstrap import bootstrap
    from core.config import load_settings

    database = tmp_path / "gone.db"
    found = bootstrap(load_settings(hireflow_environ(tmp_path, f"sqlite:///{database}")))
    client = sign_in(create_app(found).test_client())
    write_sample(found.storage, employees=10)
    found.engine.dispose()
    database.unlink()
    database.mkdir()  # a folder where the database file was: every connection fails

    for response in (client.get("/task-status/x"), client.get("/task-list"), client.post("/upload-files")):
        assert response.status_code == 503
        assert response.json["error"]["message"] == "the database cannot be reached"
        assert response.json["error"]["details"] is None  # the driver's message names hosts and users
