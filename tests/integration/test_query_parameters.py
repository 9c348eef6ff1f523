"""Unknown query parameters: every operation of /openapi.json refuses them with a 400 naming them, before it does
anything; the documented ones keep working; routes outside the spec take none but what their pages need."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.sample import write_sample
from domain.entities import TABLES
from tests.conftest import ADMIN, READER, sign_in
from tests.integration.test_backup_api import finished, run_queued

OPERATION_KEYS = {"get", "put", "post", "delete", "patch"}
SIGN_IN = ("POST", "/auth/token")


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in OPERATION_KEYS
    ]


def query_parameters(spec: dict[str, Any], path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    shared = spec["paths"][path].get("parameters", [])
    return [p for p in (*shared, *operation.get("parameters", [])) if p["in"] == "query"]


def json_example(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return content["example"]
    examples = content.get("examples", {})
    return next(iter(examples.values()))["value"] if examples else None


def state_of(services: Any) -> tuple[Any, ...]:
    """What a request could change: the jobs, the rows of each table and the files in storage."""
    jobs, _total = services.jobs.newest(limit=1000)
    return (
        sorted((job.id, job.state, job.cancel_requested) for job in jobs),
        {table: services.store.count_rows(table) for table in TABLES},
        sorted(blob.name for blob in services.storage.list()),
    )


def assert_refused(response: Any, unknown: list[str], accepted: list[str]) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "unknown_parameter"
    assert all(f"{name!r}" in error["message"] for name in unknown), error["message"]
    assert error["details"] == {"unknown": unknown, "accepted": accepted}


def with_row_id(client: Any, path: str) -> str:
    """``/<table>/{row_id}`` with the id of the table's first stored row."""
    if not path.endswith("/{row_id}"):
        return path
    listed = path.removesuffix("/{row_id}")
    return f"{listed}/{client.get(listed).json['items'][0]['id']}"


@pytest.fixture
def loaded(client: Any, services: Any) -> Any:
    """The sample loaded through the API and backed up, so that every write operation has something to do."""
    write_sample(services.storage, employees=50, invalid_share=0.1)
    assert finished(client, services, client.post("/upload-files"))["state"] == "SUCCESS"
    assert finished(client, services, client.post("/backup"))["state"] == "SUCCESS"
    return services


def test_every_operation_refuses_an_unknown_parameter_before_doing_anything_and_works_without_it(client, loaded):
    spec = client.get("/openapi.json").json
    walked = operations(spec)
    assert len(walked) >= 17

    for method, path, operation in walked:
        task_id = client.post("/backup").json["task_id"]  # pending: a cancel would change it
        url = with_row_id(client, path.replace("{task_id}", task_id))
        body = {"username": ADMIN[0], "password": ADMIN[1]} if (method, path) == SIGN_IN else json_example(operation)
        accepted = [p["name"] for p in query_parameters(spec, path, operation)]
        before = state_of(loaded)

        refused = client.open(f"{url}?foo=1", method=method, json=body)

        assert_refused(refused, ["foo"], accepted)
        assert "access_token" not in refused.json
        assert state_of(loaded) == before, f"{method} {path} changed something while refusing"

        done = client.open(url, method=method, json=body)

        assert done.status_code < 400, f"{method} {path}: {done.status_code} {done.get_data(as_text=True)}"
        if method != "GET" and (method, path) != SIGN_IN:
            assert state_of(loaded) != before, f"{method} {path} without ?foo=1 did nothing: the test proves nothing"
        run_queued(loaded)


def example_value(parameter: dict[str, Any]) -> Any:
    schema = parameter["schema"]
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    return schema["enum"][0] if "enum" in schema else schema.get("minimum", 1)


def test_every_documented_query_parameter_is_accepted_together_with_the_others(client, loaded):
    spec = client.get("/openapi.json").json
    task_id = client.post("/backup").json["task_id"]
    checked = 0
    for method, path, operation in operations(spec):
        parameters = query_parameters(spec, path, operation)
        if not parameters:
            continue
        query = {p["name"]: example_value(p) for p in parameters}
        response = client.open(path.replace("{task_id}", task_id), method=method, query_string=query)
        assert response.status_code in (200, 202), f"{method} {path}?{query}: {response.get_data(as_text=True)}"
        checked += 1
    assert checked >= 5


def test_the_seed_clients_start_and_limit_are_taken_but_a_parameter_beside_them_is_refused(client, services):
    write_sample(services.storage, employees=10)
    before = state_of(services)

    response = client.post("/upload-files?start=0&limit=1000&offset=5")

    assert_refused(response, ["offset"], ["start", "limit"])
    assert response.json["error"]["message"] == "unknown query parameter 'offset'; this operation accepts start, limit"
    assert state_of(services) == before and services.queue.queued == []
    assert client.post("/upload-files?start=0&limit=1000").status_code == 202


def test_an_unknown_parameter_is_named_once_however_often_it_is_repeated(client):
    response = client.get("/task-list?per_page=5&foo=1&foo=2&state=SUCCESS")

    assert_refused(response, ["foo"], ["state", "kind", "page", "per_page"])
    assert response.json["error"]["message"] == (
        "unknown query parameter 'foo'; this operation accepts state, kind, page, per_page"
    )


def test_a_repeated_documented_parameter_takes_its_first_value_as_before(client):
    assert client.get("/report/hired-by-quarter?year=2020&year=2021").json["year"] == 2020
    assert client.get("/task-list?per_page=5&per_page=6").json["per_page"] == 5
    assert client.get("/report/hired-by-quarter?format=csv&format=json").mimetype == "text/csv"


def test_names_differ_by_case_and_an_empty_name_is_unknown_too(client):
    assert_refused(client.get("/report/hired-by-quarter?Year=2021"), ["Year"], ["year", "format"])
    assert_refused(client.get("/backups?=departments"), [""], ["table"])


def test_the_error_echoes_at_most_20_names_of_at_most_100_characters(client):
    names = [f"n{i}" for i in range(25)] + ["x" * 300]
    response = client.get("/health?" + "&".join(f"{name}=1" for name in names))

    assert response.status_code == 400
    details = response.json["error"]["details"]
    assert details["unknown"] == names[:20] and details["accepted"] == []
    assert response.json["error"]["message"].endswith("'n19', ...; this operation takes none")
    long_name = client.get(f"/health?{'x' * 300}=1").json["error"]["details"]["unknown"]
    assert long_name == ["x" * 100]


def test_a_head_request_takes_the_parameters_of_its_get(client):
    assert client.head("/task-list?per_page=5").status_code == 200
    assert client.head("/task-list?foo=1").status_code == 400


def test_a_cors_preflight_with_any_query_string_is_answered_and_the_request_itself_is_refused(anonymous_client):
    preflight = anonymous_client.options(
        "/task-list?foo=1", headers={"Origin": "https://other.example", "Access-Control-Request-Method": "GET"}
    )

    assert preflight.status_code == 200
    assert sign_in(anonymous_client).get("/task-list?foo=1").status_code == 400


OUTSIDE_THE_SPEC = [
    ("/health", "foo=1"),
    ("/openapi.json", "foo=1"),
    ("/docs", "url=https://evil.example/openapi.json"),
    ("/docs/assets/swagger-ui.css", "v=1"),
    ("/dashboard/assets/main.js", "v=1"),
    ("/", "year=2021&foo=1"),
]


def test_routes_outside_the_spec_refuse_every_parameter_but_the_dashboards_year(anonymous_client):
    for path, query in OUTSIDE_THE_SPEC:
        response = anonymous_client.get(f"{path}?{query}")

        assert response.status_code == 400, f"{path}?{query}: {response.status_code}"
        assert response.json["error"]["code"] == "unknown_parameter"
        assert response.json["error"]["details"]["accepted"] == (["year"] if path == "/" else []), path


def test_the_dashboard_takes_the_year_it_keeps_in_its_address(anonymous_client):
    response = anonymous_client.get("/?year=2021")

    assert response.status_code == 200 and response.mimetype == "text/html"


def test_signing_in_with_an_unknown_parameter_gives_no_token(anonymous_client):
    response = anonymous_client.post("/auth/token?next=/", json={"username": ADMIN[0], "password": ADMIN[1]})

    assert_refused(response, ["next"], [])
    assert "access_token" not in response.get_data(as_text=True)


# 401 and 403 come first: the access policy is the outer gate, as it is for a bad body, so a caller without the
# right token learns that alone, and nothing about the operation it called (even though /openapi.json is public).
def test_without_a_token_an_unknown_parameter_is_a_401_first(anonymous_client, services):
    for method, path in [("GET", "/task-list"), ("POST", "/upload-files"), ("DELETE", "/task-status/no-such-task")]:
        response = anonymous_client.open(f"{path}?start=0&limit=1000", method=method)

        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.json["error"]["code"] == "not_authenticated"
        assert not re.search("start|limit", response.get_data(as_text=True))
    assert services.queue.queued == []


def test_a_reader_hears_403_on_an_admin_operation_and_400_on_one_it_may_call(anonymous_client):
    reader = sign_in(anonymous_client, READER)

    assert reader.post("/backup?foo=1").status_code == 403
    assert_refused(reader.get("/backups?foo=1"), ["foo"], ["table"])
