"""The dashboard page and its modules as Flask serves them, and the API contract the modules declare.

``api/static/dashboard/api.js`` declares, per operation it calls, what it sends and which response fields it
reads (``CONTRACT``). These tests load that declaration with Node and check every name against the app's own
``/openapi.json``: an API change that the dashboard would not survive fails here first.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from tests.conftest import hireflow_environ, service_missing

STATIC = Path(__file__).resolve().parents[2] / "api" / "static" / "dashboard"
ASSETS = "/dashboard/assets/"


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    services = bootstrap(load_settings(hireflow_environ(tmp_path, sqlite_url)))
    yield create_app(services=services).test_client()
    services.dispose()


@pytest.fixture
def openapi(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").get_json()
    return document


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    """CONTRACT and ERROR_READS as api.js exports them, read by Node (the module touches no DOM)."""
    node = shutil.which("node")
    if node is None:
        service_missing("node is not on PATH; it reads the dashboard's API contract from api.js")
    script = (
        f"const m = await import({json.dumps((STATIC / 'api.js').as_uri())});"
        "process.stdout.write(JSON.stringify({operations: m.CONTRACT, errorReads: m.ERROR_READS}));"
    )
    done = subprocess.run(
        [str(node), "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def _resolve(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        found: Any = openapi
        for key in schema["$ref"].removeprefix("#/").split("/"):
            found = found[key]
        schema = found
    return schema


def _segments(path: str) -> list[str]:
    segments = []
    for part in path.split("."):
        if part.endswith("[]"):
            segments.extend([part[:-2], "[]"] if part[:-2] else ["[]"])
        else:
            segments.append(part)
    return segments


def _field(openapi: dict[str, Any], schema: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The documented schema of a field path as api.js writes it, or why there is none."""
    for segment in _segments(path):
        schema = _resolve(openapi, schema)
        if segment == "[]":
            if schema.get("type") != "array":
                return None, f"{path}: the schema has no list here"
            schema = schema["items"]
        elif segment == "*":
            values = schema.get("additionalProperties")
            if not isinstance(values, dict) or not values:
                return None, f"{path}: the schema documents no values for this object"
            schema = values
        else:
            name = segment.removesuffix("?")
            if name not in schema.get("properties", {}):
                return None, f"{path}: {name} is not documented"
            if not segment.endswith("?") and name not in schema.get("required", []):
                return None, f"{path}: {name} is optional in the schema; the dashboard must mark it with '?'"
            schema = schema["properties"][name]
    return _resolve(openapi, schema), None


def _undocumented_values(schema: dict[str, Any] | None, values: list[str] | None) -> list[str]:
    if not values or schema is None:
        return []
    return [value for value in values if value not in schema.get("enum", [])]


def contract_problems(openapi: dict[str, Any], contract: dict[str, Any]) -> list[str]:
    """Everything the dashboard declares that /openapi.json does not document; empty when they agree."""
    problems = []
    for name, declared in contract["operations"].items():
        where = f"{name} ({declared['method']} {declared['path']})"
        operation = openapi["paths"].get(declared["path"], {}).get(declared["method"].lower())
        if operation is None:
            problems.append(f"{where}: no such operation")
            continue
        parameters = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for parameter, values in declared.get("query", {}).items():
            if parameter not in parameters:
                problems.append(f"{where}: no query parameter {parameter}")
            for value in _undocumented_values(_resolve(openapi, parameters.get(parameter, {})), values):
                problems.append(f"{where}: {parameter}={value} is not documented")
        content = operation.get("requestBody", {}).get("content", {})
        for field, values in declared.get("body", {}).items():
            body = content.get("application/json", {}).get("schema", {})
            schema, problem = _field(openapi, body, f"{field}?")
            problems += [f"{where}: body {problem}"] if problem else []
            problems += [f"{where}: body {field}={v} is not documented" for v in _undocumented_values(schema, values)]
        for field in declared.get("form", []):
            form = content.get("multipart/form-data", {}).get("schema", {})
            problems += [f"{where}: form {problem}"] if (problem := _field(openapi, form, f"{field}?")[1]) else []
        success = next((r for code, r in operation["responses"].items() if code.startswith("2")), {})
        media = declared.get("accept", "application/json")
        if media not in success.get("content", {}):
            problems.append(f"{where}: no success answer in {media}")
            continue
        answer = success["content"][media].get("schema", {})
        for path in declared.get("reads", []):
            problems += [f"{where}: {problem}"] if (problem := _field(openapi, answer, path)[1]) else []
        for path, values in declared.get("values", {}).items():
            schema, problem = _field(openapi, answer, path)
            documented = set(schema.get("enum", [])) if schema else set()
            if not problem and set(values) != documented:
                problems.append(f"{where}: {path} is one of {sorted(documented)}, the dashboard knows {sorted(values)}")
    error = {"$ref": "#/components/schemas/Error"}
    problems += [f"error answers: {p}" for path in contract["errorReads"] if (p := _field(openapi, error, path)[1])]
    return problems


def test_the_dashboard_page_is_served_at_the_root_with_a_strict_content_policy(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert b'<script type="module" src="/dashboard/assets/main.js">' in response.data
    assert b'id="quarter-chart"' in response.data and b'id="mean-chart"' in response.data


def test_every_module_the_page_loads_is_served_by_the_app_and_no_file_is_left_over(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    pending = re.findall(rf'(?:src|href)="({ASSETS}[^"]+)"', page)
    served: set[str] = set()
    while pending:
        asset = pending.pop()
        if asset in served:
            continue
        response = client.get(asset)
        assert response.status_code == 200, asset
        served.add(asset)
        if asset.endswith(".js"):
            assert response.mimetype == "text/javascript", asset
            imported = re.findall(r'^import .* from "\./([\w-]+\.js)";$', response.get_data(as_text=True), re.M)
            pending += [f"{ASSETS}{name}" for name in imported]
        response.close()

    assert served == {f"{ASSETS}{path.name}" for path in STATIC.iterdir() if path.name != "index.html"}


def test_no_asset_reaches_outside_the_app() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|fonts\.", text), path.name


def test_only_the_api_module_talks_to_the_server() -> None:
    for path in STATIC.glob("*.js"):
        if path.name != "api.js":
            assert not re.search(r"\bfetch\(|XMLHttpRequest|EventSource|WebSocket", path.read_text()), path.name


def test_every_operation_field_and_value_the_dashboard_reads_is_documented_in_openapi(
    openapi: dict[str, Any], contract: dict[str, Any]
) -> None:
    assert contract_problems(openapi, contract) == []


def test_the_dashboard_knows_every_job_state_the_api_documents(
    openapi: dict[str, Any], contract: dict[str, Any]
) -> None:
    documented = openapi["components"]["schemas"]["Task"]["properties"]["state"]["enum"]
    operations = contract["operations"]

    assert operations["task"]["values"]["state"] == documented
    assert operations["taskList"]["values"]["items[].state"] == documented


def test_the_contract_check_catches_renamed_fields_unknown_states_and_operations(
    openapi: dict[str, Any], contract: dict[str, Any]
) -> None:
    drifted = copy.deepcopy(contract)
    operations = drifted["operations"]
    operations["taskList"]["reads"].append("items[].status")
    operations["task"]["reads"].append("counts.*.inserted")
    operations["task"]["values"]["state"].append("RETRYING")
    operations["backups"]["query"]["sort"] = None
    operations["restore"]["body"]["table"].append("employees")
    operations["hiredByQuarter"]["reads"].append("rows[].quarter")
    operations["jobsReport"] = {"method": "GET", "path": "/report/jobs", "reads": ["rows"]}

    problems = "\n".join(contract_problems(openapi, drifted))

    assert "items[].status: status is not documented" in problems
    assert "counts.*.inserted: inserted is optional in the schema" in problems
    assert "RETRYING" in problems
    assert "no query parameter sort" in problems
    assert "body table=employees is not documented" in problems
    assert "rows[].quarter: quarter is not documented" in problems
    assert "jobsReport (GET /report/jobs): no such operation" in problems
    assert len(contract_problems(openapi, drifted)) == 7
