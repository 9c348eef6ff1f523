"""``python main.py run`` supervises its children: a worker killed with SIGKILL is started again (and logged),
and the web server answers all along."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN, free_port, hireflow_environ
from tests.e2e.api_client import ApiClient, start, stop, wait_until
from tests.e2e.job_checks import run_children

pytestmark = pytest.mark.slow


def test_a_worker_killed_under_run_comes_back_and_the_web_server_never_stops_answering(
    tmp_path: Path, challenge_dir: Path
):
    port = free_port()
    environ = hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", PORT=str(port))
    run = start("run", environ, tmp_path / "run.log")
    client = ApiClient(f"http://127.0.0.1:{port}")
    try:
        wait_until(client.is_up, 60, "the web server and the worker", interval=0.3)
        client.sign_in(*ADMIN)
        killed = wait_until(lambda: run_children(run.pid).get("worker"), 30, "the worker")

        os.kill(killed, signal.SIGKILL)
        answers = []
        until = time.monotonic() + 60
        while time.monotonic() < until and run_children(run.pid).get("worker") in (None, killed):
            answers.append(client.http.get(f"{client.base_url}/health", timeout=10).status_code)
            time.sleep(0.1)
        restarted = run_children(run.pid).get("worker")
        assert restarted not in (None, killed)
        assert answers and set(answers) == {200}

        upload = client.upload_files(challenge_dir)
        assert upload.status_code == 202, upload.text
        status, _ = client.follow(upload.json()["task_id"], 120)
        assert status["state"] == "SUCCESS", status
        assert run.poll() is None and run_children(run.pid)["worker"] == restarted
    except requests.ConnectionError as error:
        pytest.fail(f"the web server stopped answering: {error}")
    finally:
        stop(run)
    assert "the worker exited with code -9; starting it again in 1s" in (tmp_path / "run.log").read_text()
