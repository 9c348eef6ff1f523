"""schemathesis against /openapi.json of the real server and worker: no 5xx, and every answer as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sample import write_sample
from infra.storage.local import LocalFolderStorage
from tests.conftest import ROOT, hireflow_environ
from tests.e2e.api_client import ApiClient, running_service

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
LOG = ROOT / "tests" / "artifacts" / "schemathesis.log"


@pytest.fixture
def fuzzed_service(tmp_path: Path) -> Iterator[ApiClient]:
    environ = hireflow_environ(
        tmp_path,
        f"sqlite:///{tmp_path / 'hireflow.db'}",
        # The fuzzer signs in hundreds of times a minute; the limit itself is tested in test_limits.py.
        AUTH_RATE_LIMIT="10000 per minute",
    )
    write_sample(LocalFolderStorage(tmp_path / "storage"), employees=200)
    yield from running_service(environ, tmp_path, "run")


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_every_operation_answers_as_its_openapi_contract_says(fuzzed_service: ApiClient):
    token = fuzzed_service.http.headers["Authorization"].removeprefix("Bearer ")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{fuzzed_service.base_url}/openapi.json",
    ]
    completed = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "HIREFLOW_TOKEN": token, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=420,
    )

    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, f"schemathesis found problems (full log: {LOG}):\n{completed.stdout[-6000:]}"
    spec = fuzzed_service.http.get(f"{fuzzed_service.base_url}/openapi.json", timeout=10).json()
    operations = sum(1 for item in spec["paths"].values() for method in item if method in HTTP_METHODS)
    assert f"Selected: {operations}/{operations}" in completed.stdout
