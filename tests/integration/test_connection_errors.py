"""A database, storage or broker that is wrong or out of reach stops the command at once, with one line saying
which service, where, and what to check: ``python main.py init-db | migrate | serve | worker`` as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import AZURITE_DEVELOPMENT_KEY, ROOT, azurite_connection_string_for, free_port, hireflow_environ

COMMANDS = ("init-db", "migrate", "serve", "worker")
STORAGE_COMMANDS = ("migrate", "serve", "worker")  # init-db touches only the database
# Only a guard against a hang: a command that has not given up by then fails the test.
HANG_GUARD_SECONDS = 15
HIDDEN = "hunter2-not-for-your-eyes"
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="


@dataclass
class Outcome:
    code: int
    lines: list[str]
    seconds: float

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def start_up(command: str, tmp_path: Path, **environ: str) -> Outcome:
    """Run ``python main.py <command>`` on its own SQLite database and storage folder, with ``environ`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STORAGE_", "CELERY_", "AZURE_"))}
    env.update(hireflow_environ(tmp_path, f"sqlite:///{tmp_path / 'hireflow.db'}"))
    env.update({"CELERY_BROKER_URL": "", "REDIS_URL": "", "AZURE_STORAGE_CONNECTION_STRING": "", **environ})
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "main.py", command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=HANG_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"`main.py {command}` was still running after {HANG_GUARD_SECONDS} s")
    lines = [line for line in (stderr + stdout).splitlines() if line.strip()]
    return Outcome(process.returncode, lines, time.monotonic() - started)


def assert_one_clear_line(outcome: Outcome, *words: str) -> None:
    assert outcome.code not in (0, None), outcome.text
    assert 1 <= len(outcome.lines) <= 2, outcome.text
    assert "Traceback" not in outcome.text, outcome.text
    assert outcome.lines[0].startswith("hireflow: "), outcome.text
    for word in words:
        assert word in outcome.lines[0], (word, outcome.text)
    assert HIDDEN not in outcome.text and WRONG_KEY not in outcome.text and AZURITE_DEVELOPMENT_KEY not in outcome.text


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers, like a server that hangs or a middlebox."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


# The database


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_port_nobody_listens_on_is_named_with_what_to_check(command: str, tmp_path: Path) -> None:
    port = free_port()

    outcome = start_up(command, tmp_path, DATABASE_URL=f"postgresql://postgres:{HIDDEN}@127.0.0.1:{port}/test")

    assert_one_clear_line(outcome, "PostgreSQL", f"127.0.0.1:{port}", "refused", "server is running", "DATABASE_URL")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_that_does_not_exist_is_named_with_what_to_check(
    command: str, tmp_path: Path, postgres_admin_url: str
) -> None:
    server = make_url(postgres_admin_url)
    url = server.set(drivername="postgresql", database="no_such_hireflow_database")

    outcome = start_up(command, tmp_path, DATABASE_URL=url.render_as_string(hide_password=False))

    assert_one_clear_line(
        outcome, "PostgreSQL", f"{server.host}:{server.port}", "no_such_hireflow_database", "database name"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_user_that_does_not_exist_is_named_without_its_password(
    command: str, tmp_path: Path, postgres_admin_url: str
) -> None:
    server = make_url(postgres_admin_url)
    url = server.set(drivername="postgresql", username="no_such_hireflow_user", password=HIDDEN)

    outcome = start_up(command, tmp_path, DATABASE_URL=url.render_as_string(hide_password=False))

    assert_one_clear_line(outcome, "PostgreSQL", "no_such_hireflow_user", "user name and password in DATABASE_URL")


def test_a_database_host_name_that_does_not_resolve_is_named(tmp_path: Path) -> None:
    outcome = start_up("init-db", tmp_path, DATABASE_URL="postgresql://postgres@no-such-host.invalid:5432/test")

    assert_one_clear_line(outcome, "PostgreSQL", "no-such-host.invalid:5432", "host name in DATABASE_URL")


@pytest.mark.parametrize("command", ["init-db", "serve"])
def test_a_database_server_that_never_answers_is_given_up_on_after_the_connect_timeout(
    command: str, tmp_path: Path, silent_port: int
) -> None:
    outcome = start_up(command, tmp_path, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{silent_port}/test")

    assert_one_clear_line(outcome, "PostgreSQL", f"127.0.0.1:{silent_port}", "timeout", "firewall")


# Azure Blob Storage


def azure(connection_string: str) -> dict[str, str]:
    return {"STORAGE_URL": "azure://hireflow", "AZURE_STORAGE_CONNECTION_STRING": connection_string}


@pytest.mark.parametrize("command", STORAGE_COMMANDS)
def test_an_azure_endpoint_nobody_listens_on_is_named_with_what_to_check(command: str, tmp_path: Path) -> None:
    port = free_port()

    outcome = start_up(command, tmp_path, **azure(azurite_connection_string_for(port)))

    assert_one_clear_line(
        outcome, "Azure Blob Storage", f"127.0.0.1:{port}", "refused", "AZURE_STORAGE_CONNECTION_STRING"
    )


@pytest.mark.parametrize("command", STORAGE_COMMANDS)
def test_an_azure_host_name_that_does_not_resolve_is_named(command: str, tmp_path: Path) -> None:
    connection_string = azurite_connection_string_for(10000).replace("127.0.0.1", "no-such-host.invalid")

    outcome = start_up(command, tmp_path, **azure(connection_string))

    assert_one_clear_line(outcome, "Azure Blob Storage", "no-such-host.invalid:10000", "does not resolve")


def test_an_azure_endpoint_that_never_answers_is_given_up_on_within_seconds(tmp_path: Path, silent_port: int) -> None:
    outcome = start_up("serve", tmp_path, **azure(azurite_connection_string_for(silent_port)))

    assert_one_clear_line(outcome, "Azure Blob Storage", f"127.0.0.1:{silent_port}", "did not answer")


@pytest.mark.parametrize("command", STORAGE_COMMANDS)
def test_a_wrong_azure_account_key_is_refused_without_showing_the_key(
    command: str, tmp_path: Path, azurite_connection_string: str
) -> None:
    connection_string = azurite_connection_string.replace(AZURITE_DEVELOPMENT_KEY, WRONG_KEY)
    endpoint = re.search(r"127\.0\.0\.1:\d+", connection_string)
    assert endpoint

    outcome = start_up(command, tmp_path, **azure(connection_string))

    assert_one_clear_line(outcome, "Azure Blob Storage", endpoint[0], "devstoreaccount1", "AccountKey", "refused")


def test_with_the_right_azure_key_the_same_migrate_reaches_the_storage(
    tmp_path: Path, azurite_connection_string: str
) -> None:
    outcome = start_up("migrate", tmp_path, **azure(azurite_connection_string))

    assert_one_clear_line(outcome, "missing in the source: departments.csv")


# The broker


@pytest.mark.parametrize("command", COMMANDS)
def test_a_broker_url_without_a_scheme_is_refused_before_anything_starts(command: str, tmp_path: Path) -> None:
    outcome = start_up(command, tmp_path, REDIS_URL="localhost:6379")

    assert outcome.code == 2
    assert_one_clear_line(outcome, "configuration error", "REDIS_URL", "redis://", "'localhost:6379'")


def test_a_broker_url_with_another_scheme_is_refused_without_its_password(tmp_path: Path) -> None:
    outcome = start_up("worker", tmp_path, CELERY_BROKER_URL=f"amqp://guest:{HIDDEN}@localhost:5672//")

    assert outcome.code == 2
    assert_one_clear_line(outcome, "CELERY_BROKER_URL", "rediss://")
