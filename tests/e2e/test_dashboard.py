from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from api import create_app
from bootstrap import bootstrap
from core.config import load_settings
from core.ingest import ingest_sources
from domain.entities import TABLES
from infra.storage.local import LocalFolderStorage
from tests.conftest import READER, ROOT, hireflow_environ, service_missing

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCRIPT = Path(__file__).with_name("dashboard.mjs")
SCREENSHOT = ROOT / "tests" / "artifacts" / "dashboard.png"
FILTER_JOB = "Programmer IV"


@pytest.fixture(scope="module")
def browser_tools() -> str:
    node = shutil.which("node")
    if not CHROMIUM.is_file():
        service_missing(f"Chromium is not installed at {CHROMIUM}; `make test` installs Debian's chromium as root")
    if node is None:
        service_missing("node is not on PATH")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        service_missing("playwright-core is not installed; run `npm ci`")
    return str(node)


@pytest.fixture(scope="module")
def server_url(challenge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("server")
    settings = load_settings(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}"))
    services = bootstrap(settings)
    ingest_sources(services.store, LocalFolderStorage(challenge_dir), {t: f"{t}.csv" for t in TABLES})
    server = make_server("127.0.0.1", 0, create_app(services=services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        services.dispose()


@pytest.fixture(scope="module")
def dashboard(browser_tools: str, server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One browser run for the module: it loads the page, reads the charts, clicks, and saves the screenshots."""
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    completed = subprocess.run(
        [browser_tools, str(SCRIPT), server_url, str(SCREENSHOT), str(profile), FILTER_JOB],
        cwd=ROOT,
        env={**os.environ, "HIREFLOW_USERNAME": READER[0], "HIREFLOW_PASSWORD": READER[1]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {"result": json.loads(completed.stdout), "api": _api_answers(server_url)}


def _api_answers(server_url: str) -> dict[str, Any]:
    import requests

    http = requests.Session()
    signed_in = http.post(f"{server_url}/auth/token", json={"username": READER[0], "password": READER[1]}, timeout=10)
    http.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
    return {
        name: http.get(f"{server_url}/report/{name}?year=2021", timeout=30).json()
        for name in ("hired-by-quarter", "hiring-above-average")
    }


def quarter_sums(rows: list[dict[str, Any]], job: str | None = None) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for quarter in ("Q1", "Q2", "Q3", "Q4"):
            sums[(row["department"], quarter)] += row[quarter] if job in (None, row["job"]) else 0
    return dict(sums)


@pytest.mark.slow
def test_the_dashboard_draws_both_reports_with_the_api_numbers(dashboard: dict[str, Any]) -> None:
    shown, api = dashboard["result"], dashboard["api"]
    initial = shown["initial"]
    quarters = api["hired-by-quarter"]["rows"]
    above = api["hiring-above-average"]

    assert shown["pageErrors"] == []
    assert initial["year"] == "2021"
    assert initial["banner"] == ""
    drawn = {(b["department"], b["quarter"]): b["value"] for b in initial["quarterBars"]}
    assert drawn == quarter_sums(quarters)
    assert len(initial["quarterBars"]) == 4 * len({r["department"] for r in quarters})
    assert initial["quarterTableRows"] == len(quarters)

    assert initial["mean"] == pytest.approx(above["mean"])
    assert [(b["department"], b["value"]) for b in initial["meanBars"] if b["above"]] == [
        (r["department"], r["hired"]) for r in above["rows"]
    ]
    per_department = {d: sum(v for (dept, _q), v in quarter_sums(quarters).items() if dept == d) for d, _ in drawn}
    assert {b["department"]: b["value"] for b in initial["meanBars"]} == per_department
    assert initial["aboveTable"] == [[str(r["id"]), r["department"], str(r["hired"])] for r in above["rows"]]
    assert SCREENSHOT.stat().st_size > 10_000
    assert all(url.startswith("http://127.0.0.1:") for url in shown["requests"])


@pytest.mark.slow
def test_the_dashboard_sorts_tables_filters_by_job_and_drills_into_a_department(dashboard: dict[str, Any]) -> None:
    shown, api = dashboard["result"], dashboard["api"]
    above_rows = api["hiring-above-average"]["rows"]
    quarters = api["hired-by-quarter"]["rows"]

    assert shown["aboveByDepartment"] == sorted(r["department"] for r in above_rows)
    assert shown["aboveByHiredDescending"] == sorted((r["hired"] for r in above_rows), reverse=True)
    filtered = {(b["department"], b["quarter"]): b["value"] for b in shown["filtered"]["quarterBars"]}
    assert filtered == quarter_sums(quarters, FILTER_JOB)
    support = [r for r in quarters if r["department"] == "Support" and r["job"] == FILTER_JOB]
    assert shown["drilledRows"] == [
        [
            "Support",
            FILTER_JOB,
            *(str(r[q]) for q in ("Q1", "Q2", "Q3", "Q4")),
            str(r["Q1"] + r["Q2"] + r["Q3"] + r["Q4"]),
        ]
        for r in support
    ]


@pytest.mark.slow
def test_the_dashboard_shows_job_progress_and_says_clearly_when_a_call_fails(dashboard: dict[str, Any]) -> None:
    shown = dashboard["result"]

    assert shown["jobs"] == [
        {"id": "5f0c1d2e-upload", "state": "progress", "percent": 42, "width": "42%"},
        {"id": "9a8b7c6d-backup", "state": "success", "percent": 100, "width": "100%"},
    ]
    assert shown["backupMessage"] == "Failed: the broker cannot be reached (HTTP 503)"
    assert shown["jobsUnavailable"].startswith("Job list unavailable:")
    assert shown["reportStateWithoutJobs"] == "ready"


@pytest.mark.slow
def test_the_dashboard_sends_uploads_and_restores_as_the_jobs_api_expects(dashboard: dict[str, Any]) -> None:
    upload, restore = dashboard["result"]["sent"]

    assert upload["path"] == "/upload-files"
    assert upload["contentType"].startswith("multipart/form-data")
    assert 'name="departments"; filename="departments.csv"' in upload["body"]
    assert 'name="hired_employees"; filename="hired_employees.csv"' in upload["body"]
    assert 'name="jobs"' not in upload["body"]
    assert (restore["path"], restore["contentType"], json.loads(restore["body"])) == (
        "/restore",
        "application/json",
        {"table": "jobs"},
    )
    assert upload["authorization"] == restore["authorization"] == "Bearer token-from-sign-in"
    assert dashboard["result"]["uploadMessage"] == "Upload accepted (job 77aa88bb)"


@pytest.mark.slow
def test_the_page_loads_without_a_token_and_the_sign_in_form_gets_one_from_the_real_endpoint(
    dashboard: dict[str, Any],
) -> None:
    shown = dashboard["result"]

    assert shown["beforeSignIn"]["status"] == 200
    assert shown["beforeSignIn"]["loginFormShown"] is True
    assert "sign in first" in shown["beforeSignIn"]["banner"]
    assert shown["wrongSignIn"] == "Sign-in failed: the user name or the password is wrong"
    assert shown["signedIn"] == f"Signed in as {READER[0]}"
    assert shown["csvDownload"] == {"name": "hiring-above-average-2021.csv", "failure": None}
