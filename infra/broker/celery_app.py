"""The Celery app for one process, and ``CeleryJobQueue``, the port that queues a recorded job."""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import parse_qs, urlparse

from celery import Celery
from celery.schedules import crontab

from core.config import Settings
from core.jobs.ports import JobQueue
from domain.commands import JOB_KINDS
from domain.errors import Unavailable
from infra.broker.redis_transport import TRANSPORT as REDIS_TRANSPORT

# Each kind of job has a task of its own name, so Flower and ``celery inspect`` tell an ingest from a
# restore. Every one of them runs whatever job its id names; ``hireflow.run_job``, the name every
# message had before, stays for the messages still queued under it.
RUN_JOB_TASK = "hireflow.run_job"
JOB_TASKS = {kind: f"hireflow.{kind}" for kind in JOB_KINDS}
SCHEDULED_BACKUP_TASK = "hireflow.scheduled_backup"
SCHEDULED_BACKUP = "scheduled-backup"
QUEUE_NAME = "hireflow"
# A scheduled backup that waited this long for a worker is dropped: the next one is due soon enough,
# and workers coming back after an outage should not start a burst of backups.
SCHEDULED_BACKUP_EXPIRES_SECONDS = 3600
# Celery's result store is a mirror for Flower and ``AsyncResult``; our job table is the truth. During a
# Redis outage a worker gives up storing a task's state after these tries instead of waiting 20 s.
RESULT_STORE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 1, "interval_max": 1}


def job_task_name(kind: str | None) -> str:
    """The Celery task that runs a job of ``kind``; the generic ``hireflow.run_job`` when the kind is not known."""
    return JOB_TASKS.get(kind or "", RUN_JOB_TASK)


def broker_options(settings: Settings) -> tuple[str, dict[str, Any]]:
    """Redis when a broker URL is set; otherwise kombu's filesystem transport under ``BROKER_DIR``."""
    if settings.broker_url:
        timeout = settings.broker_visibility_timeout
        prefix = {"global_keyprefix": settings.broker_key_prefix} if settings.broker_key_prefix else {}
        return settings.broker_url, {
            **prefix,
            # An unacknowledged message (its worker died) is handed out again after this long.
            "visibility_timeout": timeout,
            "unacked_restore_interval": max(1, min(60, timeout // 4)),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 5,
        }
    folders = {name: settings.broker_dir / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)
    return "filesystem://localhost/", {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }


def redis_connection_options(broker_url: str) -> dict[str, Any]:
    """Celery settings for a ``redis://`` or ``rediss://`` broker: our fixed copy of kombu's Redis transport.

    Naming the transport class makes kombu ignore the URL's scheme, so a ``rediss://`` URL without
    ``ssl_cert_reqs`` gets TLS with verified certificates here (kombu alone would skip the check).
    """
    scheme = urlparse(broker_url).scheme
    if scheme not in ("redis", "rediss"):
        return {}
    options: dict[str, Any] = {"broker_transport": REDIS_TRANSPORT}
    if scheme == "rediss" and "ssl_cert_reqs" not in parse_qs(urlparse(broker_url).query):
        options["broker_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def result_backend_options(settings: Settings) -> dict[str, Any]:
    """Where workers record each task's state: Redis beside a Redis broker, files under ``BROKER_DIR`` otherwise."""
    if not settings.broker_url:
        folder = settings.broker_dir / "results"
        os.makedirs(folder, exist_ok=True)
        return {"result_backend": folder.as_uri()}
    transport: dict[str, Any] = {"retry_policy": RESULT_STORE_RETRY_POLICY}
    if settings.broker_key_prefix:
        transport["global_keyprefix"] = settings.broker_key_prefix
    options: dict[str, Any] = {
        "result_backend": settings.broker_url,
        "result_backend_transport_options": transport,
        "redis_socket_connect_timeout": 5,
        "redis_socket_timeout": 10,
    }
    url = urlparse(settings.broker_url)
    if url.scheme == "rediss" and "ssl_cert_reqs" not in parse_qs(url.query):
        options["redis_backend_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """What ``celery beat`` sends: a backup on ``BACKUP_SCHEDULE`` (UTC crontab). Stalled jobs are every worker's."""
    if settings.backup_schedule is None:
        return {}
    minute, hour, day_of_month, month_of_year, day_of_week = settings.backup_schedule.split()
    return {
        SCHEDULED_BACKUP: {
            "task": SCHEDULED_BACKUP_TASK,
            "schedule": crontab(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
            ),
            # ``ignore_result``: beat would otherwise subscribe to the result of each backup it sends.
            "options": {"expires": SCHEDULED_BACKUP_EXPIRES_SECONDS, "ignore_result": True},
        }
    }


def make_celery(settings: Settings, *, results: bool = False) -> Celery:
    """The Celery app of one process; ``results``: the worker's, which records each task's state.

    A process that only queues tasks has no result backend: Celery's Redis backend would otherwise
    subscribe to every task it sends, for a result that process never reads.
    """
    broker, options = broker_options(settings)
    app = Celery("hireflow", set_as_current=False)
    app.conf.update(
        broker_url=broker,
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        # A worker waits for the broker as long as it is away, instead of giving up after 100 tries.
        broker_connection_max_retries=None,
        broker_connection_timeout=5,
        task_default_queue=QUEUE_NAME,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        # A job task that raises (its job ended FAILURE) is acknowledged, never handed out again: a job
        # runs again only through the sweeps of our job table.
        task_acks_on_failure=True,
        result_extended=True,
        worker_send_task_events=settings.worker_events,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
        **redis_connection_options(broker),
        **(result_backend_options(settings) if results else {}),
    )
    return app


class CeleryJobQueue(JobQueue):
    def __init__(self, app: Celery) -> None:
        self.app = app

    def enqueue(self, job_id: str, kind: str | None = None) -> None:
        try:
            self.app.send_task(
                job_task_name(kind),
                args=[job_id],
                task_id=job_id,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
            )
        except Exception as error:  # noqa: BLE001 - whatever the transport raises, the job was not queued
            raise Unavailable("the broker cannot be reached; the task was not queued", {"reason": str(error)}) from None

    def check(self) -> None:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
        except Exception as error:  # noqa: BLE001 - a health check reports every failure the same way
            raise Unavailable("the broker cannot be reached", {"reason": str(error)}) from None

    def waiting(self) -> int:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
                return int(conn.default_channel.queue_declare(QUEUE_NAME).message_count)
        except Exception as error:  # noqa: BLE001 - whatever the transport raises, the count is unknown
            raise Unavailable("the broker cannot be reached", {"reason": str(error)}) from None

    def close(self) -> None:
        self.app.close()
