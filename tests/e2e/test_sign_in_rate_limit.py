"""The sign-in rate limit holds for the whole service, not per gunicorn process, on the embedded default (no Redis)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import ADMIN, hireflow_environ
from tests.e2e.api_client import ApiClient, free_port, start, stop, wait_until

pytestmark = pytest.mark.slow

ATTEMPTS_PER_PROCESS = 20


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """Stop a process (SIGSTOP) so that it accepts no connection, and let it go on afterwards."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def wrong_sign_in(base_url: str) -> requests.Response:
    """A wrong password on a connection of its own, so that whichever web process is free accepts it."""
    return requests.post(
        f"{base_url}/auth/token",
        json={"username": ADMIN[0], "password": "a wrong guess"},
        headers={"Connection": "close"},
        timeout=30,
    )


def test_forty_wrong_sign_ins_spread_over_two_web_processes_get_ten_401s_then_429s(tmp_path: Path) -> None:
    port = free_port()
    environ = hireflow_environ(
        tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}", PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="WARNING"
    )
    server = start("serve", environ, tmp_path / "serve.log")
    try:
        client = ApiClient(f"http://127.0.0.1:{port}")
        wait_until(client.is_up, 60, "the web server to answer /health", interval=0.3)
        workers = wait_until(lambda: len(children_of(server.pid)) == 2 and children_of(server.pid), 30, "2 workers")

        # Each process in turn answers half the attempts: the other one, stopped, cannot accept a connection.
        answers = []
        for _serving, stopped in (workers, reversed(workers)):
            with paused(stopped):
                answers += [wrong_sign_in(client.base_url) for _ in range(ATTEMPTS_PER_PROCESS)]
    finally:
        stop(server)

    assert [answer.status_code for answer in answers] == [401] * 10 + [429] * 30
    assert {answer.json()["error"]["code"] for answer in answers[10:]} == {"too_many_requests"}
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in answers[10:])
