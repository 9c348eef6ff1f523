"""Backup and restore through the HTTP API, with the queued jobs run in the test as a worker would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.ingest.loader import ingest_sources
from core.jobs.runner import run_job
from domain.entities import TABLES
from infra.storage.local import LocalFolderStorage
from tests.integration.test_backup_restore import FORGED_ID, contents, forge, store_forged, vandalise

EXPECTED_ROWS = {"departments": 12, "jobs": 183, "hired_employees": 1929}
NEVER_TAKEN = "19990101T000000000000Z"


def run_queued(services: Any) -> None:
    while services.queue.queued:
        job_id = services.queue.queued.pop(0)
        run_job(services.database, services.handlers, job_id, worker="test-worker", lease_seconds=30)


def finished(client: Any, services: Any, response: Any) -> dict[str, Any]:
    """Run the task a 202 answer queued, and return its final status."""
    assert response.status_code == 202, response.json
    run_queued(services)
    status: dict[str, Any] = client.get(response.headers["Location"]).json
    return status


@pytest.fixture
def loaded(services: Any, challenge_dir: Path) -> Any:
    """The challenge data in the database."""
    ingest_sources(services.database, LocalFolderStorage(challenge_dir), {t: f"{t}.csv" for t in TABLES})
    return services


@pytest.fixture
def backed_up(client: Any, loaded: Any) -> dict[str, str]:
    """One backup of each table, taken through the API: ``{table: backup id}``."""
    status = finished(client, loaded, client.post("/backup"))
    assert status["state"] == "SUCCESS", status
    return {backup["table"]: backup["id"] for backup in status["result"]["backups"]}


def test_a_backup_with_no_body_backs_up_all_three_tables(client, loaded):
    response = client.post("/backup")
    assert response.status_code == 202
    task_id = response.json["task_id"]
    assert response.headers["Location"] == f"/task-status/{task_id}" == response.json["status_url"]
    assert client.get(f"/task-status/{task_id}").json["kind"] == "backup"

    status = finished(client, loaded, response)

    assert status["state"] == "SUCCESS" and status["percent"] == 100.0
    assert {b["table"]: b["rows"] for b in status["result"]["backups"]} == EXPECTED_ROWS
    assert status["result"]["rows"] == sum(EXPECTED_ROWS.values())
    assert status["counts"]["hired_employees"] == {"rows": 1929, "backed_up": 1929}
    assert status["rows_done"] == status["rows_total"] == sum(EXPECTED_ROWS.values())


def test_a_backup_of_chosen_tables_backs_up_only_those(client, loaded):
    status = finished(client, loaded, client.post("/backup", json={"tables": ["jobs"]}))
    assert [b["table"] for b in status["result"]["backups"]] == ["jobs"]
    assert [b["table"] for b in client.get("/backups").json] == ["jobs"]


def test_backups_are_listed_newest_first_with_rows_bytes_and_checksum(client, loaded, backed_up):
    again = finished(client, loaded, client.post("/backup", json={"tables": ["jobs"]}))
    newest_jobs = again["result"]["backups"][0]["id"]

    listed = client.get("/backups").json

    assert len(listed) == 4
    assert [b["id"] for b in listed] == sorted((b["id"] for b in listed), reverse=True)
    assert listed[0]["id"] == newest_jobs
    employees = next(b for b in listed if b["table"] == "hired_employees")
    assert set(employees) == {"table", "id", "created", "rows", "bytes", "checksum", "schema_version"}
    assert employees["rows"] == 1929 and employees["bytes"] > 0
    assert employees["checksum"].startswith("sha256:") and len(employees["checksum"]) == len("sha256:") + 64
    assert employees["created"].endswith("Z")
    assert [b["id"] for b in client.get("/backups?table=jobs").json] == [newest_jobs, backed_up["jobs"]]


def test_with_no_backup_the_list_is_empty(client):
    assert client.get("/backups").json == []


def test_restoring_all_three_tables_brings_back_every_row_exactly(client, loaded, backed_up):
    original = contents(loaded.engine)
    vandalise(loaded.engine)
    assert contents(loaded.engine) != original

    status = finished(client, loaded, client.post("/restore", json={"tables": list(TABLES)}))

    assert status["state"] == "SUCCESS", status
    assert contents(loaded.engine) == original
    assert status["params"] == {"backups": backed_up}
    assert [(r["table"], r["backup_id"], r["rows"]) for r in status["result"]["tables"]] == [
        (table, backed_up[table], rows) for table, rows in EXPECTED_ROWS.items()
    ]
    assert status["counts"]["hired_employees"] == {"rows": 1929, "verified": 1929, "restored": 1929}
    assert status["percent"] == 100.0


def test_restoring_one_table_uses_its_newest_backup_by_default(client, loaded, backed_up):
    original = contents(loaded.engine)
    vandalise(loaded.engine)

    status = finished(client, loaded, client.post("/restore", json={"table": "hired_employees"}))

    assert status["state"] == "SUCCESS", status
    assert status["result"]["tables"][0]["backup_id"] == backed_up["hired_employees"]
    assert contents(loaded.engine)["hired_employees"] == original["hired_employees"]


def test_restoring_a_chosen_backup_restores_that_one_and_not_the_newest(client, loaded, backed_up):
    original = contents(loaded.engine)["jobs"]
    vandalise(loaded.engine)
    finished(client, loaded, client.post("/backup", json={"tables": ["jobs"]}))
    loaded.engine.dispose()

    body = {"table": "jobs", "backup_id": backed_up["jobs"]}
    status = finished(client, loaded, client.post("/restore", json=body))

    assert status["state"] == "SUCCESS", status
    assert contents(loaded.engine)["jobs"] == original


def test_restoring_tables_from_chosen_backups_takes_an_object_of_table_to_id(client, loaded, backed_up):
    original = contents(loaded.engine)
    vandalise(loaded.engine)
    chosen = {"departments": backed_up["departments"], "hired_employees": backed_up["hired_employees"]}

    status = finished(client, loaded, client.post("/restore", json={"tables": chosen}))

    assert status["state"] == "SUCCESS", status
    assert status["params"] == {"backups": chosen}
    after = contents(loaded.engine)
    assert (after["departments"], after["hired_employees"]) == (original["departments"], original["hired_employees"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"tables": ["employees"]}, 404, "unknown_table"),
        ({"tables": ["jobs", "../jobs"]}, 404, "unknown_table"),
        ({"tables": []}, 400, "invalid_request"),
        ({"tables": "jobs"}, 400, "invalid_request"),
        ({"tables": [1]}, 400, "invalid_request"),
        ({"tables": None}, 400, "invalid_request"),
        ({"table": "jobs"}, 400, "invalid_request"),
        (["jobs"], 400, "invalid_request"),
        ("jobs", 400, "invalid_request"),
    ],
    ids=[
        "unknown-table",
        "path-as-table",
        "no-table",
        "string",
        "number",
        "null",
        "unknown-key",
        "array",
        "string-body",
    ],
)
def test_a_bad_backup_request_is_refused_before_any_task_is_recorded(client, services, body, status, code):
    response = client.post("/backup", json=body)
    assert (response.status_code, response.json["error"]["code"]) == (status, code), response.json
    assert services.queue.queued == [] and client.get("/task-list").json["total"] == 0


@pytest.mark.parametrize(
    ("path", "data", "content_type", "status"),
    [
        ("/backup", b'{"tables": [', "application/json", 400),
        ("/restore", b"not json", "application/json", 400),
        ("/backup", b"tables=jobs", "application/x-www-form-urlencoded", 415),
        ("/restore", b'{"table": "jobs"}', "text/plain", 415),
    ],
    ids=["backup-broken-json", "restore-broken-json", "backup-form", "restore-text"],
)
def test_a_body_that_is_not_json_is_refused(client, services, path, data, content_type, status):
    response = client.post(path, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.json["error"]["code"] in ("invalid_request", "unsupported_content_type")
    assert services.queue.queued == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"table": "employees"}, 404, "unknown_table"),
        ({"tables": ["jobs", "employees"]}, 404, "unknown_table"),
        ({"tables": {"employees": None}}, 404, "unknown_table"),
        ({"table": "jobs", "backup_id": NEVER_TAKEN}, 404, "backup_not_found"),
        ({"tables": {"jobs": NEVER_TAKEN}}, 404, "backup_not_found"),
        ({"table": "jobs", "backup_id": "../departments/20300101T000000000000Z"}, 400, "invalid_backup_id"),
        ({"table": "jobs", "backup_id": "/etc/passwd"}, 400, "invalid_backup_id"),
        ({"table": "jobs", "backup_id": "latest"}, 400, "invalid_backup_id"),
        ({"tables": {"jobs": "a/../../b"}}, 400, "invalid_backup_id"),
        ({}, 400, "invalid_request"),
        ({"tables": []}, 400, "invalid_request"),
        ({"table": "jobs", "tables": ["jobs"]}, 400, "invalid_request"),
        ({"tables": ["jobs"], "backup_id": NEVER_TAKEN}, 400, "invalid_request"),
        ({"tables": "jobs"}, 400, "invalid_request"),
        ({"tables": {"jobs": 5}}, 400, "invalid_request"),
        ({"table": 5}, 400, "invalid_request"),
        ({"table": "jobs", "backup_id": 20261122}, 400, "invalid_request"),
        ({"table": "jobs", "force": True}, 400, "invalid_request"),
        (None, 400, "invalid_request"),
    ],
    ids=[
        "unknown-table",
        "unknown-table-in-list",
        "unknown-table-in-object",
        "unknown-backup-id",
        "unknown-backup-id-in-object",
        "path-in-backup-id",
        "absolute-path",
        "not-a-timestamp",
        "path-in-object",
        "empty-object",
        "no-table",
        "table-and-tables",
        "backup-id-with-tables",
        "tables-as-string",
        "id-as-number-in-object",
        "table-as-number",
        "id-as-number",
        "unknown-key",
        "null",
    ],
)
def test_a_bad_restore_request_is_refused_before_any_task_and_the_tables_are_untouched(
    client, loaded, backed_up, body, status, code
):
    vandalise(loaded.engine)
    before = contents(loaded.engine)
    tasks_before = client.get("/task-list").json["total"]

    response = client.post("/restore", json=body)

    assert (response.status_code, response.json["error"]["code"]) == (status, code), response.json
    assert response.json["error"]["message"]
    assert loaded.queue.queued == [] and client.get("/task-list").json["total"] == tasks_before
    assert contents(loaded.engine) == before


def test_restoring_a_table_never_backed_up_is_a_404(client, loaded):
    response = client.post("/restore", json={"table": "jobs"})
    assert response.status_code == 404 and response.json["error"]["code"] == "backup_not_found"
    assert "no backup of jobs" in response.json["error"]["message"]


def test_a_backup_whose_manifest_is_unreadable_is_a_422(client, loaded):
    loaded.storage.write(f"backups/jobs/{FORGED_ID}.json", b"{not json")
    response = client.post("/restore", json={"table": "jobs", "backup_id": FORGED_ID})
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_backup"
    assert loaded.queue.queued == []


def test_listing_the_backups_of_an_unknown_table_is_a_404(client):
    response = client.get("/backups?table=employees")
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_table"


def truncate(services: Any, table: str, backup_id: str) -> None:
    name = f"backups/{table}/{backup_id}.avro"
    with services.storage.open(name) as stream:
        data = stream.read()
    services.storage.write(name, data[: len(data) // 2])


def truncate_with_matching_manifest(services: Any, table: str, backup_id: str) -> str:
    with services.storage.open(f"backups/{table}/{backup_id}.avro") as stream:
        data = stream.read()
    store_forged(services.storage, table, data[:-100], rows=EXPECTED_ROWS[table])
    return FORGED_ID


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda s, ids: truncate(s, "hired_employees", ids["hired_employees"]), "does not match its checksum"),
        (lambda s, ids: truncate_with_matching_manifest(s, "hired_employees", ids["hired_employees"]), "cut short"),
        (lambda s, _: forge(s.storage, "departments", [(1, "Recruiter")], header_table="jobs"), "not a departments"),
        (lambda s, _: forge(s.storage, "departments", [(1, "Sales"), (0, "Legal")]), "row 2 of departments backup"),
        (lambda s, _: forge(s.storage, "jobs", [(1, "Editor"), (1, "Recruiter")]), "holds id 1 twice"),
        (lambda s, _: forge(s.storage, "departments", [(1, "Sales"), (2, "Legal")]), "would orphan hired_employees"),
    ],
    ids=["truncated", "truncated-with-matching-manifest", "another-tables-schema", "bad-row", "repeated-id", "orphans"],
)
def test_a_restore_whose_backup_fails_its_checks_fails_with_the_reason_and_the_tables_are_untouched(
    client, loaded, backed_up, spoil, reason
):
    forged = spoil(loaded, backed_up)
    table = next(t for t in TABLES if loaded.storage.exists(f"backups/{t}/{FORGED_ID}.json")) if forged else None
    body = {"table": table, "backup_id": forged} if forged else {"table": "hired_employees"}
    vandalise(loaded.engine)
    before = contents(loaded.engine)

    status = finished(client, loaded, client.post("/restore", json=body))

    assert status["state"] == "FAILURE", status
    assert reason in status["error"]
    assert status["result"] is None
    assert contents(loaded.engine) == before


def test_the_openapi_document_describes_the_backup_endpoints(client):
    spec = client.get("/openapi.json").json
    paths = spec["paths"]
    assert set(paths["/backup"]["post"]["responses"]) >= {"202", "400", "404", "415"}
    assert set(paths["/restore"]["post"]["responses"]) >= {"202", "400", "404", "415", "422"}
    assert paths["/backups"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    schemas = spec["components"]["schemas"]
    backup = schemas["Backup"]
    assert set(backup["required"]) == {"table", "id", "created", "rows", "bytes", "checksum", "schema_version"}
    restore = schemas["RestoreRequest"]["properties"]
    assert [choice["type"] for choice in restore["tables"]["oneOf"]] == ["array", "object"]
    assert restore["backup_id"]["pattern"] == r"^\d{8}T\d{12}Z$"
    assert schemas["BackupRequest"]["properties"]["tables"]["items"]["enum"] == list(TABLES)
