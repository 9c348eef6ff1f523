"""The Postman collection, run by newman against the real server and worker: every request's tests pass."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sample import write_sample
from infra.storage.local import LocalFolderStorage
from tests.conftest import ADMIN, READER, ROOT, hireflow_environ, service_missing
from tests.e2e.api_client import ApiClient, running_service
from tests.postman import COLLECTION, ENVIRONMENT, POSTMAN

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


def test_the_postman_collection_passes_against_the_real_server_and_worker(newman: str, live_service: ApiClient):
    command = [
        newman,
        "run",
        str(COLLECTION),
        "--environment",
        str(ENVIRONMENT),
        "--working-dir",
        str(POSTMAN),
        "--env-var",
        f"baseUrl={live_service.base_url}",
        "--env-var",
        f"adminUsername={ADMIN[0]}",
        "--env-var",
        f"adminPassword={ADMIN[1]}",
        "--env-var",
        f"readerUsername={READER[0]}",
        "--env-var",
        f"readerPassword={READER[1]}",
        "--reporters",
        "cli,json",
        "--reporter-json-export",
        str(REPORT),
        "--timeout-request",
        "30000",
        "--color",
        "off",
        "--disable-unicode",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert completed.returncode == 0, completed.stdout[-8000:] + completed.stderr[-2000:]
    stats = json.loads(REPORT.read_text())["run"]["stats"]
    assert stats["assertions"]["failed"] == 0
    assert stats["assertions"]["total"] >= 60
    assert stats["requests"]["failed"] == 0
