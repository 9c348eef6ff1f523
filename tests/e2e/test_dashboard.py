"""The dashboard in Chromium against the real web server and Celery worker, on PostgreSQL and Redis.

One browser run (tests/e2e/dashboard.mjs) does what a user does and reports what the page showed; each test
below checks one part of it against the API's own answers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import struct
import subprocess
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from core.backup.catalogue import find_backup
from infra.db.engine import make_engine
from infra.db.schema import HIRING_TABLES
from infra.storage.local import LocalFolderStorage
from tests.conftest import ADMIN, ROOT, hireflow_environ, service_missing
from tests.e2e.api_client import ApiClient, running_service

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCRIPT = Path(__file__).with_name("dashboard.mjs")
ARTIFACTS = ROOT / "tests" / "artifacts"
FILTER_JOB = "Programmer IV"
BROWSER_TIMEOUT = 300
PHONE_WIDTH = 390


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
def environ(module_postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dashboard-service")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return hireflow_environ(folder, module_postgres_url, CELERY_BROKER_URL=redis_url, CELERY_KEY_PREFIX=prefix)


@pytest.fixture(scope="module")
def service(environ: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    yield from running_service(environ, tmp_path_factory.mktemp("dashboard-logs"), "serve", "worker")


class BrowserHands:
    """Does what the browser script asks of the test: hold a lock on a table, damage a backup file."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.engine = make_engine(environ["DATABASE_URL"])
        self.storage = LocalFolderStorage(Path(environ["STORAGE_URL"].removeprefix("file://")))
        self.held: Connection | None = None

    def answer(self, step: dict[str, str]) -> dict[str, str]:
        if step["do"] == "hold":
            # A reload finds every row already stored and only reads: a lock that blocks reads holds it.
            self.held = self.engine.connect()
            self.held.execute(text(f"LOCK TABLE {HIRING_TABLES[step['table']].name} IN ACCESS EXCLUSIVE MODE"))
        elif step["do"] == "release":
            self.release()
        elif step["do"] == "damage":
            name = find_backup(self.storage, step["table"], step["backup_id"]).data_name
            with self.storage.open(name) as file:
                whole = file.read()
            self.storage.write(name, whole[: len(whole) // 2])
        else:
            raise ValueError(f"the browser script asked for an unknown step: {step}")
        return {"done": step["do"]}

    def release(self) -> None:
        if self.held is not None:
            self.held.rollback()
            self.held.close()
            self.held = None

    def close(self) -> None:
        self.release()
        self.engine.dispose()


@pytest.fixture(scope="module")
def dashboard(
    browser_tools: str,
    service: ApiClient,
    environ: dict[str, str],
    challenge_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """One browser run for the module, answering the script's requests for the test's hands as it goes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    folder = tmp_path_factory.mktemp("browser")
    result_file, log_file = folder / "result.json", folder / "node.log"
    command = [
        browser_tools,
        str(SCRIPT),
        service.base_url,
        str(challenge_dir),
        str(ARTIFACTS),
        str(result_file),
        FILTER_JOB,
    ]
    hands = BrowserHands(environ)
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "HIREFLOW_USERNAME": ADMIN[0], "HIREFLOW_PASSWORD": ADMIN[1]},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        watchdog = threading.Timer(BROWSER_TIMEOUT, process.kill)
        watchdog.start()
        try:
            assert process.stdin is not None and process.stdout is not None
            for line in process.stdout:
                process.stdin.write(json.dumps(hands.answer(json.loads(line))) + "\n")
                process.stdin.flush()
            code = process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
            hands.close()
    assert code == 0, log_file.read_text()[-4000:]
    return {"shown": json.loads(result_file.read_text()), "api": _api_answers(service)}


def _api_answers(service: ApiClient) -> dict[str, Any]:
    http, url = service.http, service.base_url
    answers = {name: http.get(f"{url}/report/{name}?year=2021", timeout=30).json() for name in REPORTS}
    answers["backups"] = service.backups(table="jobs").json()
    return answers


REPORTS = ("hired-by-quarter", "hiring-above-average")


def quarter_sums(rows: list[dict[str, Any]], job: str | None = None) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        for quarter in ("Q1", "Q2", "Q3", "Q4"):
            sums[(row["department"], quarter)] += row[quarter] if job in (None, row["job"]) else 0
    return dict(sums)


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_the_signed_out_page_says_how_to_sign_in_and_shows_no_error(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]
    signed_out = shown["signedOut"]

    assert signed_out["status"] == 200
    assert signed_out["shownProblems"] == []
    assert signed_out["apiCalls"] == []
    assert signed_out["reportsShown"] is False
    assert signed_out["heading"] == "Sign in to see the hiring reports"
    assert "make run" in signed_out["instructions"] and "ADMIN_PASSWORD" in signed_out["instructions"]
    assert shown["wrongSignIn"] == "Sign-in failed: the user name or the password is wrong"
    assert shown["signedIn"] == f"Signed in as {ADMIN[0]}"
    assert shown["emptyJobs"] == "No jobs yet. Upload files, or start a backup."


def test_an_ended_session_returns_to_the_sign_in_page_without_an_error(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]

    assert shown["expired"] == "Your session has ended. Sign in again."
    assert shown["refused"] == {"message": "Your session has ended. Sign in again.", "shownProblems": []}
    assert shown["afterSignInAgain"] == []


def test_the_charts_draw_the_api_numbers_with_axis_titles_and_exact_figures_on_hover(dashboard: dict[str, Any]) -> None:
    shown, api = dashboard["shown"], dashboard["api"]
    initial = shown["initial"]
    quarters = api["hired-by-quarter"]["rows"]
    above = api["hiring-above-average"]
    sums = quarter_sums(quarters)

    assert initial["year"] == "2021"
    assert initial["banner"] == ""
    drawn = {(b["department"], b["quarter"]): b["value"] for b in initial["quarterBars"]}
    assert drawn == sums
    assert len(initial["quarterBars"]) == 4 * len({r["department"] for r in quarters})
    assert initial["quarterTableRows"] == len(quarters)
    assert initial["mean"] == pytest.approx(above["mean"])
    assert [(b["department"], b["value"]) for b in initial["meanBars"] if b["above"]] == [
        (r["department"], r["hired"]) for r in above["rows"]
    ]
    per_department = {d: sum(v for (dept, _q), v in sums.items() if dept == d) for d, _ in drawn}
    assert {b["department"]: b["value"] for b in initial["meanBars"]} == per_department
    assert initial["aboveTable"] == [[str(r["id"]), r["department"], str(r["hired"])] for r in above["rows"]]

    assert initial["axisTitles"] == {
        "quarter-chart": ["Department", "Hires in 2021"],
        "mean-chart": ["Hires in 2021", "Department"],
    }
    assert shown["quarterTip"] == {
        "chart": "quarter-chart",
        "value": f"{sums[('Support', 'Q3')]} hires",
        "detail": "Support · Q3 2021",
        "inViewport": True,
    }
    support = next(r for r in above["rows"] if r["department"] == "Support")
    assert shown["meanTip"]["value"] == f"{support['hired']} hires"
    assert shown["meanTip"]["detail"] == f"Support · 2021 · above the mean of {above['mean']:.2f}"
    assert all(url.startswith("http://127.0.0.1:") for url in shown["requests"])


def test_the_tables_sort_filter_by_job_and_drill_into_a_department(dashboard: dict[str, Any]) -> None:
    shown, api = dashboard["shown"], dashboard["api"]
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
    assert shown["csvDownload"] == {"name": "hiring-above-average-2021.csv", "failure": None}


def test_an_upload_row_shows_its_counts_and_downloads_its_rejected_rows_as_csv(
    dashboard: dict[str, Any], service: ApiClient
) -> None:
    upload = dashboard["shown"]["upload"]
    task_id = upload["id"]

    assert upload["counts"] == {
        "departments": {"inserted": 12, "already_exists": 0, "rejected": 0},
        "jobs": {"inserted": 183, "already_exists": 0, "rejected": 0},
        "hired_employees": {"inserted": 1929, "already_exists": 0, "rejected": 70},
    }
    assert upload["message"] == f"Load done (job {task_id[:8]}): 2124 inserted, 0 already existing, 70 rejected."
    assert upload["cancelButton"] is False
    assert upload["rejectionsLink"] == "70 rejected rows (CSV)"
    assert upload["rejectionsName"] == f"rejections-{task_id}.csv"
    rows = list(csv.reader(io.StringIO(upload["rejectionsCsv"])))
    assert rows[0] == ["table", "source", "line", "batch", "record", "reasons"] and len(rows) == 1 + 70
    assert upload["rejectionsCsv"] == service.rejections(task_id, format="csv").text


def test_a_running_job_is_cancelled_from_its_row(dashboard: dict[str, Any], service: ApiClient) -> None:
    cancel = dashboard["shown"]["cancel"]

    assert cancel["whileRunning"]["departments"] == {"inserted": 0, "already_exists": 12, "rejected": 0}
    assert cancel["stateWhileCancelling"].startswith("cancelling · ")
    assert cancel["buttonWhileCancelling"] is False
    assert cancel["message"] == f"Load cancelled (job {cancel['id'][:8]})."
    assert cancel["stateAfter"].startswith("cancelled · ")
    assert cancel["buttonAfter"] is False
    assert service.task(cancel["id"])["state"] == "CANCELLED"


def test_backup_and_restore_messages_follow_their_jobs_to_the_end(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]

    assert [b["message"] for b in shown["backups"]] == [
        f"Backup done (job {b['id'][:8]}): 2124 rows backed up." for b in shown["backups"]
    ]
    restore = shown["restore"]
    assert restore["message"].startswith("jobs from its backup of ")
    assert restore["message"].endswith(f": Restore done (job {restore['id'][:8]}): 183 rows restored.")


def test_restore_lists_the_backups_and_restores_the_chosen_one_after_a_confirmation(
    dashboard: dict[str, Any], service: ApiClient
) -> None:
    restore, listed = dashboard["shown"]["restore"], dashboard["api"]["backups"]
    older = listed[1]["id"]

    assert [o["value"] for o in restore["options"]] == [b["id"] for b in listed]
    assert restore["options"][0]["label"].endswith("· 183 rows · newest")
    assert restore["options"][1]["label"].endswith("· 183 rows")
    assert restore["question"].startswith("Replace every row of jobs with its backup of ")
    assert restore["question"].endswith("(183 rows)?")
    assert restore["sentAfterKeep"] == 0
    assert restore["sent"] == [{"table": "jobs", "backup_id": older}]
    finished = service.task(restore["id"])
    assert finished["state"] == "SUCCESS"
    assert [(t["table"], t["backup_id"]) for t in finished["result"]["tables"]] == [("jobs", older)]


def test_a_failed_restore_shows_its_error_in_its_row_and_its_message(
    dashboard: dict[str, Any], service: ApiClient
) -> None:
    failed = dashboard["shown"]["failedRestore"]
    error = service.task(failed["id"])["error"]

    assert "does not match its checksum" in error
    assert failed["rowError"] == error
    assert failed["message"].endswith(f": Restore failed (job {failed['id'][:8]}): {error}")


def test_the_page_fits_a_phone_with_readable_charts_and_stacked_job_rows(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]
    phone = shown["phone"]

    for page in (phone["signedOut"], phone["signedIn"]):
        assert page["viewportWidth"] == PHONE_WIDTH
        assert page["scrollWidth"] <= PHONE_WIDTH
        assert page["overflowing"] == []
    signed_in = phone["signedIn"]
    assert signed_in["chartTexts"] > 50
    assert signed_in["smallestChartText"] >= 11
    assert len(signed_in["jobRowsStacked"]) == 6 and all(signed_in["jobRowsStacked"])
    assert not any(shown["desktop"]["jobRowsStacked"])
    assert shown["desktop"]["overflowing"] == []
    assert phone["tip"]["chart"] == "quarter-chart" and phone["tip"]["inViewport"] is True
    assert phone["tip"]["value"] == shown["quarterTip"]["value"]

    assert png_size(ARTIFACTS / "dashboard-phone.png")[0] == 2 * PHONE_WIDTH
    assert png_size(ARTIFACTS / "dashboard.png")[0] == 1280


def test_a_failed_call_and_an_unavailable_job_list_are_said_plainly(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]

    assert shown["backupFailure"] == "Failed: the broker cannot be reached (HTTP 503)"
    assert shown["jobsUnavailable"].startswith("The job list is unavailable: ")
    assert shown["reportStateWithoutJobs"] == "ready"


def test_an_answer_that_drifts_from_the_documented_shape_is_reported_not_guessed(dashboard: dict[str, Any]) -> None:
    shown = dashboard["shown"]

    assert shown["pageErrors"] == []
    assert shown["driftErrors"] == [] and shown["driftBeforeTheDriftedAnswer"] is None
    assert (
        "GET /task-list does not match what the dashboard reads: items[0].state is missing" in shown["drift"]["banner"]
    )
    assert len(shown["drift"]["consoleErrors"]) >= 1
