"""The Celery worker entry: ``celery -A celery_worker worker`` (``python main.py worker`` runs it for you).

Each worker process builds its own services after the fork; no engine crosses a fork. The main
process sweeps the job table for stalled jobs from a thread of its own, with services of its own.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)

from bootstrap import Services, bootstrap, log_to_stdout
from core.config import load_settings
from infra.broker.celery_app import make_celery
from infra.broker.sweeper import Sweeper
from infra.broker.tasks import register_tasks

settings = load_settings()
app = make_celery(settings, results=True)
_process: dict[str, Any] = {}
_sweeping: dict[str, Any] = {}
_stopped: dict[str, int] = {}

log = logging.getLogger("hireflow.worker")


def process_services() -> Services:
    if _process.get("pid") != os.getpid():
        _process.clear()
        _process.update(pid=os.getpid(), services=bootstrap(settings, create_tables=False))
    services: Services = _process["services"]
    return services


register_tasks(app, process_services)


@setup_logging.connect
def _log_to_stdout(**_: Any) -> None:
    log_to_stdout(settings)


@worker_init.connect
def _create_schema(**_: Any) -> None:
    bootstrap(settings).dispose()


@worker_ready.connect
def _start_sweeping(**_: Any) -> None:
    """The first sweep runs at once: a worker that starts after a crash picks up what was left."""
    if _sweeping.get("pid") == os.getpid():
        return
    _forget_old_task_states()
    services = bootstrap(settings, create_tables=False)
    sweeper = Sweeper(services.database, services.queue, settings)
    _sweeping.update(pid=os.getpid(), services=services, sweeper=sweeper)
    sweeper.start()


def _forget_old_task_states() -> None:
    """Redis expires the task states it keeps; the files of the embedded default are deleted here, at each start."""
    if app.backend.supports_autoexpire:
        return
    try:
        app.backend.cleanup()
    except OSError:
        log.warning("could not delete the task states older than a day", exc_info=True)


@worker_shutting_down.connect
def _stop_sweeping(**_: Any) -> None:
    # Sent from the signal handler: ask the sweeper to stop, and wait for it at ``worker_shutdown``.
    if _sweeping.get("pid") == os.getpid():
        _sweeping["sweeper"].stop(timeout=0)


@worker_shutdown.connect
def _end_sweeping_and_remember_exit_code(sender: Any = None, **_: Any) -> None:
    _stopped["exit_code"] = int(getattr(sender, "exitcode", None) or 0)
    if _sweeping.get("pid") == os.getpid():
        _sweeping["sweeper"].stop()
        _sweeping["services"].dispose()
        _sweeping.clear()


def exit_code() -> int:
    """How the worker of this process ended: 0, or 1 when it stopped on an error (Celery keeps it to itself)."""
    return _stopped.get("exit_code", 0)


@worker_process_init.connect
def _build_process_services(**_: Any) -> None:
    if "services" in _sweeping:
        # A pool process forked after the sweeps began: leave the main process's connections to it.
        _sweeping["services"].engine.dispose(close=False)
    _process.clear()
    process_services()


@worker_process_shutdown.connect
def _dispose_process_services(**_: Any) -> None:
    if _process.get("pid") == os.getpid():
        _process["services"].dispose()
