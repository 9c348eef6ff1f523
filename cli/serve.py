"""``serve`` (gunicorn), ``worker`` (Celery), ``beat`` (scheduled backups) and ``run`` (all, as children)."""

from __future__ import annotations

import argparse
import signal
import subprocess  # nosec B404 - used only to start this program's own serve and worker commands
import sys
import time
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
        options: dict[str, Any] = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.settings.web_workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 300,
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": self.settings.log_level.lower(),
            "proc_name": "hireflow-web",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api import create_app

        return create_app(bootstrap(self.settings, create_tables=False))


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
    from celery_worker import app

    app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level}",
            f"--concurrency={settings.worker_concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--hostname=hireflow@%h",
        ]
    )
    return 0


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
    # Fixed argument lists naming our own interpreter and entry point; no user input reaches them.
    children = [
        subprocess.Popen([sys.executable, str(MAIN), command], process_group=0)  # nosec B603
        for command in child_commands(settings)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    broker = "Redis" if settings.broker_url else f"the folder {settings.broker_dir}"
    schedule = f", backups at '{settings.backup_schedule}' UTC" if settings.backup_schedule else ""
    print(
        f"hireflow: serving http://{settings.host}:{settings.port} (API docs at /docs), worker on {broker}"
        f"{schedule}; Ctrl+C stops all",
        flush=True,
    )
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children]
    return next((code for code in codes if code not in (0, -signal.SIGINT, -signal.SIGTERM)), 0)
