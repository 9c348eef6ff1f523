"""The Postman collection stays in step with /openapi.json: every operation has a request, and no request is stale."""

from __future__ import annotations

from tests.postman import COLLECTION, ENVIRONMENT, SMOKE_FOLDER, folders, load, requests_in, spec_operations
from tests.secret_scan import scan_text


def test_every_operation_in_the_spec_has_a_request_in_the_collection(anonymous_client):
    spec = anonymous_client.get("/openapi.json").get_json()
    covered = {(method, path) for _folder, method, path in requests_in(load())}

    assert sorted(spec_operations(spec) - covered) == []


def test_every_request_in_the_collection_is_an_operation_of_the_spec_or_the_spec_itself(anonymous_client):
    spec = anonymous_client.get("/openapi.json").get_json()
    known = spec_operations(spec) | {("GET", "/openapi.json")}
    stale = {(method, path) for _folder, method, path in requests_in(load()) if (method, path) not in known}

    assert sorted(stale) == []


def test_every_request_has_tests_and_the_token_comes_first():
    collection = load()
    first_folder = collection["item"][0]

    assert first_folder["item"][0]["request"]["url"]["raw"] == "{{baseUrl}}/auth/token"
    for folder in collection["item"]:
        for item in folder["item"]:
            scripts = [e for e in item.get("event", []) if e["listen"] == "test"]
            assert scripts and any("pm.test(" in line for line in scripts[0]["script"]["exec"]), item["name"]


def test_the_environment_holds_no_password_and_the_collection_no_credential():
    environment = load(ENVIRONMENT)

    assert {v["key"]: v["value"] for v in environment["values"] if "Password" in v["key"]} == {
        "adminPassword": "",
        "readerPassword": "",
    }
    assert scan_text(str(COLLECTION), COLLECTION.read_text()) == []


def test_the_smoke_folder_comes_first_and_only_reads():
    collection = load()
    smoke = collection["item"][0]
    requests = [(method, path) for _folder, method, path in requests_in(smoke)]

    assert smoke["name"] == SMOKE_FOLDER
    assert requests[0] == ("POST", "/auth/token")
    assert all(method == "GET" for method, _path in requests[1:]), requests
    assert {path for _method, path in requests} >= {
        "/health",
        "/report/hired-by-quarter",
        "/report/hiring-above-average",
        "/task-list",
        "/backups",
        "/openapi.json",
    }


def test_every_other_folder_is_a_numbered_step_of_the_full_run_that_writes():
    names = folders(load())[1:]

    assert [name.split(":")[0] for name in names] == [f"Full run {n}" for n in range(1, len(names) + 1)]
    writes = {folder for folder, method, _path in requests_in(load()) if method in ("POST", "DELETE")}
    assert writes - {SMOKE_FOLDER} <= set(names)
