"""A tiny client for the running service, and helpers to start and stop its processes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests

from bench.processes import free_port, stop, wait_until
from bench.processes import start as start_process

ROOT = Path(__file__).resolve().parents[2]


def start(command: str, environ: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python main.py <command>``, with INFO logs and one process each unless ``environ`` says otherwise."""
    defaults = {"LOG_LEVEL": "INFO", "WORKER_CONCURRENCY": "1", "WEB_CONCURRENCY": "1"}
    return start_process(command, {**defaults, **environ}, log)


class ApiClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def is_up(self) -> bool:
        try:
            return self.http.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or still starting on a busy machine
            return False

    def sign_in(self, username: str, password: str) -> str:
        """Ask for a token and send it with every later request; return it."""
        response = self.http.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=10
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return token

    def upload_files(self, folder: Path) -> requests.Response:
        names = ("departments", "jobs", "hired_employees")
        handles = {name: (folder / f"{name}.csv").open("rb") for name in names}
        try:
            return self.http.post(f"{self.base_url}/upload-files", files=handles, timeout=60)
        finally:
            for handle in handles.values():
                handle.close()

    def backup(self, body: dict[str, Any] | None = None) -> requests.Response:
        return self.http.post(f"{self.base_url}/backup", json=body, timeout=30)

    def backups(self, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base_url}/backups", params=params, timeout=30)

    def restore(self, body: dict[str, Any]) -> requests.Response:
        return self.http.post(f"{self.base_url}/restore", json=body, timeout=30)

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/task-status/{task_id}", timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def rejections(self, task_id: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base_url}/task-status/{task_id}/rejections", params=params, timeout=30)

    def follow(self, task_id: str, timeout: float) -> tuple[dict[str, Any], list[str]]:
        """Poll until the task finishes; return its last status and every state seen on the way."""
        seen: list[str] = []

        def finished() -> dict[str, Any] | None:
            status = self.task(task_id)
            if not seen or seen[-1] != status["state"]:
                seen.append(status["state"])
            return status if status["state"] in ("SUCCESS", "FAILURE", "CANCELLED") else None

        return wait_until(finished, timeout, f"task {task_id} to finish", interval=0.02), seen


def running_service(environ: Mapping[str, str], tmp_path: Path, *commands: str) -> Iterator[ApiClient]:
    """Start ``python main.py <command>`` for each command on a free port; yield a client signed in as the admin."""
    from tests.conftest import ADMIN

    port = free_port()
    environ = {**environ, "PORT": str(port)}
    processes = [start(command, environ, tmp_path / f"{command}.log") for command in commands]
    client = ApiClient(f"http://127.0.0.1:{port}")
    try:
        wait_until(client.is_up, 60, "the web server and the broker to answer /health", interval=0.3)
        client.sign_in(*ADMIN)
        yield client
    finally:
        for process in processes:
            stop(process)


def seed_storage(storage: Any, employees: int, seed: int) -> set[int]:
    """Write the three CSVs (employees with a header line and ~3% broken rows) at the storage root.

    Returns the ids of the valid employee rows, the ones a load must end with exactly once.
    """
    from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
    from domain.entities import HIRED_EMPLOYEES

    rows = list(employee_rows(employees, invalid_share=0.03, seed=seed))
    storage.write("departments.csv", csv_bytes(departments_rows()))
    storage.write("jobs.csv", csv_bytes(jobs_rows()))
    storage.write("hired_employees.csv", csv_bytes([list(HIRED_EMPLOYEES.column_names), *rows]))
    return {int(row[0]) for row in rows if not isinstance(HIRED_EMPLOYEES.validate(row), list)}
