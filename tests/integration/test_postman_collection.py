"""The Postman collection stays in step with /openapi.json: every operation has a request, and no request is stale."""

from __future__ import annotations

from tests.postman import COLLECTION, ENVIRONMENT, load, requests_in, spec_operations
from tests.secret_scan import scan_text


def test_every_operation_in_the_spec_has_a_request_in_the_collection(anonymous_client):
    spec = anonymous_client.get("/openapi.json").get_json()
    covered = {(method, path) for _folder, method, path in requests_in(load())}

    assert sorted(spec_operations(spec) - covered) == []


def test_every_request_in_the_collection_is_an_operation_of_the_spec(anonymous_client):
    spec = anonymous_client.get("/openapi.json").get_json()
    stale = {
        (method, path) for _folder, method, path in requests_in(load()) if (method, path) not in spec_operations(spec)
    }

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
