"""The README's curl examples work when pasted: run as written against a real server and worker."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, hireflow_environ, service_missing
from tests.e2e.api_client import ApiClient, free_port, start, stop, wait_until

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
README_ADDRESS = "http://127.0.0.1:8000"
# The README signs in as the default admin with the password `make run` wrote into .env.
README_ADMIN = {"ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "password-from-the-readme-test"}


def curl_blocks() -> list[str]:
    """Every fenced ```bash block of the README that calls curl, in order."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    return [block for block in blocks if re.search(r"\bcurl\b", block)]


def curl_commands(block: str) -> list[str]:
    """Each curl invocation with its continuation lines joined."""
    joined = block.replace("\\\n", " ")
    return [match.group(0) for match in re.finditer(r"\bcurl\b[^|)\n]*", joined)]


def uploaded_paths(block: str) -> list[str]:
    return re.findall(r"=@([^\s\"']+)", block)


def token_block() -> str:
    found = [block for block in curl_blocks() if re.search(r"^TOKEN=\$\(", block, re.MULTILINE)]
    assert len(found) == 1, "the README has one block with a TOKEN=$(...) line"
    return found[0]


def test_the_readme_has_curl_examples_and_a_token_line():
    assert len(curl_blocks()) >= 2
    assert "Bearer $TOKEN" in token_block()


def test_every_curl_in_the_readme_fails_on_an_error_status():
    for block in curl_blocks():
        for command in curl_commands(block):
            flags = re.findall(r"(?<=\s)-(?!-)(\w+)|--(fail)\b", command)
            assert any("f" in short or long for short, long in flags), command


def test_every_file_the_readme_uploads_is_in_the_repository():
    paths = [path for block in curl_blocks() for path in uploaded_paths(block)]

    assert paths
    for path in paths:
        assert (ROOT / path).is_file(), path


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[ApiClient]:
    environ = hireflow_environ(
        tmp_path,
        f"sqlite:///{tmp_path / 'hireflow.db'}",
        **README_ADMIN,
    )
    port = free_port()
    environ["PORT"] = str(port)
    processes = [start(command, environ, tmp_path / f"{command}.log") for command in ("serve", "worker")]
    client = ApiClient(f"http://127.0.0.1:{port}")
    try:
        wait_until(client.is_up, 60, "the web server and the broker to answer /health", interval=0.3)
        client.sign_in(*README_ADMIN.values())
        yield client
    finally:
        for process in processes:
            stop(process)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """Where the reader pastes: the checkout's files, and the .env that `make run` wrote."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "docs").symlink_to(ROOT / "docs")
    (folder / ".env").write_text("".join(f"{name}={value}\n" for name, value in README_ADMIN.items()))
    return folder


def test_the_readme_curl_blocks_run_as_pasted_against_a_real_server_and_worker(live_service: ApiClient, checkout: Path):
    if shutil.which("curl") is None:
        service_missing("curl is not on PATH")
    blocks = [token_block(), *(block for block in curl_blocks() if block != token_block())]
    for block in blocks:
        assert README_ADDRESS in block
    script = "set -euo pipefail\n" + "\n".join(block.replace(README_ADDRESS, live_service.base_url) for block in blocks)

    completed = subprocess.run(
        ["bash", "-c", script], cwd=checkout, capture_output=True, text=True, timeout=120, check=False
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    uploads = live_service.http.get(f"{live_service.base_url}/task-list", params={"kind": "ingest"}, timeout=10)
    [upload] = uploads.json()["items"]
    status, _seen = live_service.follow(upload["task_id"], timeout=60)
    assert status["state"] == "SUCCESS", status
    assert status["counts"]["departments"]["inserted"] == 2
