"""The Celery worker entry: ``celery -A celery_worker worker`` (``python main.py worker`` runs it for you).

Each worker process builds its own services after the fork; no engine crosses a fork.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import setup_logging, worker_init, worker_process_init, worker_process_shutdown, worker_ready

from bootstrap import Services, bootstrap, log_to_stdout
from core.config import load_settings
from core.jobs import recover_jobs
from infra.broker.celery_app import make_celery
from infra.broker.tasks import register_tasks

settings = load_settings()
app = make_celery(settings)
_process: dict[str, Any] = {}

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
def _recover_crashed_jobs(**_: Any) -> None:
    services = bootstrap(settings, create_tables=False)
    try:
        recovered = recover_jobs(services.jobs, services.queue, settings.job_lease_seconds)
        if recovered:
            log.info("queued again %d task(s) whose worker stopped: %s", len(recovered), ", ".join(recovered))
    finally:
        services.dispose()


@worker_process_init.connect
def _build_process_services(**_: Any) -> None:
    _process.clear()
    process_services()


@worker_process_shutdown.connect
def _dispose_process_services(**_: Any) -> None:
    if _process.get("pid") == os.getpid():
        _process["services"].dispose()
