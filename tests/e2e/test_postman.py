"""The Postman collection, run by newman against the real server and worker: every request's tests pass."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy import table as table_clause

from core.sample import write_sample
from infra.storage.local import LocalFolderStorage
from tests.conftest import ADMIN, READER, ROOT, hireflow_environ, service_missing
from tests.e2e.api_client import ApiClient, running_service
from tests.postman import COLLECTION, ENVIRONMENT, POSTMAN, SMOKE_FOLDER, load

pytestmark = pytest.mark.slow

NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
REPORT = ROOT / "tests" / "artifacts" / "newman.json"


@pytest.fixture
def newman() -> str:
    if shutil.which("node") is None:
        service_missing("newman needs Node.js, and node is not on PATH")
    if not NEWMAN.exists():
        service_missing(f"newman is not installed at {NEWMAN}; run `npm ci --no-audit --no-fund`")
    return str(NEWMAN)


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[ApiClient]:
    environ = hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}")
    write_sample(LocalFolderStorage(tmp_path / "storage"), employees=200)
    yield from running_service(environ, tmp_path, "run")


def run_newman(newman: str, base_url: str, report: Path, *options: str) -> dict[str, Any]:
    """Run the collection (or what ``options`` select) with the test users; return the run's statistics."""
    command = [
        newman,
        "run",
        str(COLLECTION),
        "--environment",
        str(ENVIRONMENT),
        "--working-dir",
        str(POSTMAN),
        "--env-var",
        f"baseUrl={base_url}",
        "--env-var",
        f"adminUsername={ADMIN[0]}",
        "--env-var",
        f"adminPassword={ADMIN[1]}",
        "--env-var",
        f"readerUsername={READER[0]}",
        "--env-var",
        f"readerPassword={READER[1]}",
        *options,
        "--reporters",
        "cli,json",
        "--reporter-json-export",
        str(report),
        "--timeout-request",
        "30000",
        "--color",
        "off",
        "--disable-unicode",
    ]
    report.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert completed.returncode == 0, completed.stdout[-8000:] + completed.stderr[-2000:]
    stats: dict[str, Any] = json.loads(report.read_text())["run"]["stats"]
    assert stats["assertions"]["failed"] == 0 and stats["requests"]["failed"] == 0
    return stats


def test_the_postman_collection_passes_against_the_real_server_and_worker(newman: str, live_service: ApiClient):
    stats = run_newman(newman, live_service.base_url, REPORT)

    assert stats["assertions"]["total"] >= 60


@pytest.fixture
def service_with_data(tmp_path: Path) -> Iterator[tuple[ApiClient, dict[str, str]]]:
    """A server and worker whose database holds loaded rows, finished jobs and backups, as production does."""
    environ = hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}")
    write_sample(LocalFolderStorage(tmp_path / "sample"), employees=300)
    for client in running_service(environ, tmp_path, "serve", "worker"):
        upload = client.upload_files(tmp_path / "sample")
        assert upload.status_code == 202, upload.text
        backup = client.backup()
        assert backup.status_code == 202, backup.text
        for task in (upload.json(), backup.json()):
            status, _seen = client.follow(task["task_id"], timeout=120)
            assert status["state"] == "SUCCESS", status
        yield client, environ


def everything_stored(environ: dict[str, str]) -> dict[str, object]:
    """The row count of every table, and every file in the storage with its size."""
    engine = create_engine(environ["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = {
                table: conn.execute(select(func.count()).select_from(table_clause(table))).scalar_one()
                for table in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()
    storage = Path(environ["STORAGE_URL"].removeprefix("file://"))
    files = {str(path.relative_to(storage)): path.stat().st_size for path in storage.rglob("*") if path.is_file()}
    return {"rows": rows, "files": files}


def test_the_smoke_folder_alone_passes_against_a_database_with_data_and_changes_nothing(
    newman: str, service_with_data: tuple[ApiClient, dict[str, str]], tmp_path: Path
):
    client, environ = service_with_data
    before = everything_stored(environ)

    stats = run_newman(newman, client.base_url, tmp_path / "newman-smoke.json", "--folder", SMOKE_FOLDER)

    assert everything_stored(environ) == before
    assert before["rows"]["hired_employees"] > 0 and before["rows"]["background_jobs"] >= 2
    assert any(name.startswith("backups/") for name in before["files"])
    assert stats["requests"]["total"] == len(load()["item"][0]["item"])
    assert stats["assertions"]["total"] >= 14
