"""``serve`` (gunicorn), ``worker`` (Celery), ``beat`` (scheduled backups) and ``run`` (all, as children)."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import subprocess  # nosec B404 - used only to start this program's own serve and worker commands
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from dotenv import load_dotenv
from gunicorn.app.base import BaseApplication

from bootstrap import bootstrap, check_backing_services, log_to_stdout
from cli.local_env import LOCAL_ENV, ensure_local_env
from core.config import Settings, load_settings

MAIN = Path(__file__).resolve().parent.parent / "main.py"
STOP_GRACE_SECONDS = 30
RESTART_BACKOFF_MAX_SECONDS = 60
STABLE_SECONDS = 60

log = logging.getLogger("hireflow.run")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="serve the REST API with gunicorn on HOST:PORT")
    serve.set_defaults(handler=serve_web)
    worker = commands.add_parser("worker", help="run a Celery worker that executes the queued tasks")
    worker.set_defaults(handler=run_worker)
    beat = commands.add_parser(
        "beat", help="run Celery beat: scheduled backups (BACKUP_SCHEDULE) and the recovery of stalled tasks; run one"
    )
    beat.set_defaults(handler=run_beat)
    run = commands.add_parser(
        "run", help="start the web server and a worker together (and beat if BACKUP_SCHEDULE is set); Ctrl+C stops all"
    )
    run.set_defaults(handler=run_all)


class WebServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn, configured from our settings; each worker process builds its own app after the fork."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        from cli import web_worker

        options: dict[str, Any] = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.web_workers,
            # gthread, with the answers gunicorn gives itself (a URL or header over the limits) in JSON.
            "worker_class": web_worker.JsonErrorWorker,
            **web_worker.limits(),
            "threads": 4,
            "timeout": 300,
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": self.settings.log_level.lower(),
            "proc_name": "hireflow-web",
            **({"logger_class": web_worker.JsonLogger} if self.settings.log_format == "json" else {}),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api import create_app

        app = create_app(bootstrap(self.settings, create_tables=False))
        freeze_heap()
        return app


def freeze_heap() -> None:
    """Keep what a web process holds once its app is built (modules, the app, the schema's tables) out of the
    garbage collector's full collections: they live as long as the process, and each full collection walked them
    all, in the middle of a request. A 1000-row POST allocates enough to set one off every few dozen requests:
    the batch API's p99 (4 clients, 200 requests, five runs each) went from 142-184 ms to 81-108 ms on PostgreSQL
    and from 232-264 ms to 179-244 ms on SQLite, the median unchanged (README, Performance)."""
    gc.collect()
    gc.freeze()


def serve_web(_args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.require_web_auth()
    check_backing_services(settings)
    log_to_stdout(settings)
    bootstrap(settings).dispose()  # the schema migrations, once, before gunicorn forks its workers
    WebServer(settings).run()
    return 0


def run_worker(_args: argparse.Namespace) -> int:
    settings = load_settings()
    check_backing_services(settings)
    log_to_stdout(settings)  # before Celery starts, so that its warnings come out in the log's format too
    from celery_worker import app, exit_code

    app.worker_main(
        [
            # The start-up banner is printed, not logged: with LOG_FORMAT=json every line must be JSON.
            *(["--quiet"] if settings.log_format == "json" else []),
            "worker",
            f"--loglevel={settings.log_level}",
            f"--concurrency={settings.worker_concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--hostname=hireflow@%h",
        ]
    )
    # Celery drops the worker's exit code: a worker that stopped on an error must exit non-zero, so that
    # a container or ``run`` starts it again.
    return exit_code()


def beat_schedule_file(settings: Settings) -> Path:
    """Where beat remembers when it last sent each task, so a restart neither skips nor repeats one."""
    return settings.broker_dir / "beat-schedule"


def run_beat(_args: argparse.Namespace) -> int:
    settings = load_settings()
    from celery_worker import app

    schedule = beat_schedule_file(settings)
    schedule.parent.mkdir(parents=True, exist_ok=True)
    code = app.start(["beat", f"--loglevel={settings.log_level}", f"--schedule={schedule}"])
    return int(code or 0)


def child_commands(settings: Settings) -> list[str]:
    """What ``run`` starts: the web server and a worker, and beat when backups are scheduled."""
    return ["serve", "worker", *(["beat"] if settings.backup_schedule else [])]


def start_child(command: str) -> subprocess.Popen[bytes]:
    """``python main.py <command>`` in a process group of its own, so its own children can be stopped with it."""
    # A fixed argument list naming our own interpreter and entry point; no user input reaches it.
    return subprocess.Popen([sys.executable, str(MAIN), command], process_group=0)  # nosec B603


class Supervisor:
    """Keeps ``run``'s children going. A worker or beat that exits is started again after 1, 2, 4… up to
    ``RESTART_BACKOFF_MAX_SECONDS`` (from 1 again once it ran ``STABLE_SECONDS``), and each restart is
    logged; what is left of its process group (a dead worker's pool) is killed first. The web server
    exiting ends ``run``: without it there is nothing to serve.
    """

    def __init__(
        self,
        commands: list[str],
        start: Callable[[str], subprocess.Popen[bytes]] = start_child,
        clock: Callable[[], float] = time.monotonic,
        kill_group: Callable[[subprocess.Popen[bytes]], None] | None = None,
    ) -> None:
        self.start = start
        self.clock = clock
        self.kill_group = kill_group or _kill_group
        self.children = {command: start(command) for command in commands}
        self.started = dict.fromkeys(commands, clock())
        self.failures = dict.fromkeys(commands, 0)
        self.restart_at: dict[str, float] = {}
        self.stopping = False

    def check(self) -> int | None:
        """Restart what is due; return the web server's exit code once it has exited, else None."""
        for command, child in self.children.items():
            code = child.poll()
            if code is None or self.stopping:
                continue
            if command == "serve":
                return code
            now = self.clock()
            if command not in self.restart_at:
                self.kill_group(child)
                if now - self.started[command] >= STABLE_SECONDS:
                    self.failures[command] = 0
                delay = min(RESTART_BACKOFF_MAX_SECONDS, 2 ** self.failures[command])
                self.failures[command] += 1
                self.restart_at[command] = now + delay
                log.error("the %s exited with code %s; starting it again in %ss", command, code, delay)
            elif now >= self.restart_at[command]:
                del self.restart_at[command]
                self.children[command] = self.start(command)
                self.started[command] = now
                log.warning("the %s started again (pid %s)", command, self.children[command].pid)
        return None

    def signal(self, signum: int) -> None:
        """Pass a stop signal on to every child still running, and restart none from now on."""
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def stop(self) -> list[int]:
        """Stop every child (SIGTERM, then SIGKILL after ``STOP_GRACE_SECONDS``) and return their exit codes."""
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = self.clock() + STOP_GRACE_SECONDS
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return [child.returncode for child in self.children.values()]


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_all(_args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.is_production:
        # First start on a laptop: make the signing key and admin password, and say how to get a token.
        print(ensure_local_env(), flush=True)
        load_dotenv(LOCAL_ENV)
        settings = load_settings()
    settings.require_web_auth()
    log_to_stdout(settings)
    bootstrap(settings).dispose()
    supervisor = Supervisor(child_commands(settings))

    def forward(signum: int, _frame: FrameType | None) -> None:
        supervisor.signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    broker = "Redis" if settings.broker_url else f"the folder {settings.broker_dir}"
    schedule = f", backups at '{settings.backup_schedule}' UTC" if settings.backup_schedule else ""
    print(
        f"hireflow: serving http://{settings.host}:{settings.port} (API docs at /docs), worker on {broker}"
        f"{schedule}; Ctrl+C stops all",
        flush=True,
    )
    while True:
        web_code = supervisor.check()
        if web_code is not None or (supervisor.stopping and supervisor.children["serve"].poll() is not None):
            break
        time.sleep(0.5)
    stopped_by_signal = supervisor.stopping
    codes = supervisor.stop()
    if not stopped_by_signal:
        log.error("the web server exited with code %s; stopping the others", web_code)
        return web_code or 1
    return next((code for code in codes if code not in (0, -signal.SIGINT, -signal.SIGTERM)), 0)
