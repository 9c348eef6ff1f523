"""A Redis and a PostgreSQL of the test's own, on their own ports and folders, that it can stop and start.

Faults are made on these, never on the shared servers the rest of the suite uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from bench.processes import wait_until
from tests.conftest import free_port, service_missing


class PrivateRedis:
    """``redis-server`` on a free port; ``persistent`` keeps its data across a restart (append-only file)."""

    def __init__(self, folder: Path, persistent: bool = False) -> None:
        if shutil.which("redis-server") is None:
            service_missing("redis-server is not on PATH")
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence]
        command += ["--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, 20, f"redis-server on port {self.port}", interval=0.05)

    def stop(self) -> None:
        """Stop the server as a crash or a restart would: SIGTERM, nothing flushed beyond its own settings."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.client.connection_pool.disconnect()

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


@contextmanager
def private_redis(folder: Path, persistent: bool = False) -> Iterator[PrivateRedis]:
    server = PrivateRedis(folder, persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster made by ``initdb`` in a folder of its own, run as the ``postgres`` user under root."""

    def __init__(self) -> None:
        if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
            service_missing("initdb and pg_ctl are not on PATH")
        self.folder = Path(tempfile.mkdtemp(prefix="hireflow-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_owner(["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])

    def _as_owner(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"])

    def stop(self) -> None:
        """Stop as a crash would: ``immediate`` ends every session at once, without a checkpoint."""
        self._as_owner(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()
