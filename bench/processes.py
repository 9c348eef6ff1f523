"""The service's own processes (``python main.py serve`` / ``worker``) started for a benchmark, and stopped after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from bench.runner import PROJECT_ROOT

# A fixed, bench-only identity: the server refuses to start without a signing key and an admin password.
ADMIN = ("bench-admin", "bench-admin-password")
AUTH = {
    "JWT_SECRET_KEY": "signing-key-for-the-benchmarks-only-0123456789",
    "ADMIN_USERNAME": ADMIN[0],
    "ADMIN_PASSWORD": ADMIN[1],
}
BROKER_VARIABLES = ("CELERY_BROKER_URL", "REDIS_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_environ(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """What a process of the service needs: its database, a storage and broker folder, the auth settings."""
    return {
        "DATABASE_URL": database_url,
        "STORAGE_URL": (folder / "storage").as_uri(),
        "BROKER_DIR": str(folder / "broker"),
        "LOG_LEVEL": "WARNING",
        **AUTH,
        **extra,
    }


def start(command: str, environ: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python main.py <command>`` in a session of its own, so it can be stopped with all its children."""
    env = {k: v for k, v in os.environ.items() if k not in BROKER_VARIABLES}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), **environ})
    log.parent.mkdir(parents=True, exist_ok=True)
    output: IO[bytes] = log.open("ab")
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "main.py"), command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Send ``sig`` to the process group, wait, then kill whatever is left of it."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children left behind by a parent that exited first
    except ProcessLookupError:
        pass


@contextmanager
def running(commands: list[str], environ: Mapping[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [start(command, environ, logs / f"{command}-{n}.log") for n, command in enumerate(commands, 1)]
    try:
        yield processes
    finally:
        for process in processes:
            stop(process)


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
