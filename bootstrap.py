"""The composition root: builds the real adapters from settings. Flask, Celery and the CLI all start here.

Each job handler names, after its command and its progress reporter, the dependencies it needs;
``inject`` reads its signature and binds exactly those (as cosmicpython's bootstrap does).
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from sqlalchemy import Engine

from core.backup.handlers import backup_job, restore_job
from core.backup.ports import BackupFormat
from core.config import Settings, load_settings
from core.ingest.handlers import Splitting, ingest_job, ingest_part_job
from core.ingest.parts import finish_parent_if_last
from core.jobs.ports import JobQueue
from core.jobs.runner import JobHandler, JobHandlers
from core.reports.ports import ReportQueries
from core.rows.ports import RowQueries
from core.storage import BlobStorage
from domain.commands import BackUpTables, IngestPart, IngestSources, RestoreTables
from infra.avro.format import AvroBackupFormat
from infra.db.engine import check_connection, create_schema, make_engine
from infra.db.reports import SqlReportQueries
from infra.db.rows import SqlRowQueries
from infra.db.unit_of_work import SqlDatabase
from infra.log_format import JsonFormatter
from infra.storage import storage_from_settings

# What the runner passes itself: a handler's command and progress reporter; a finished-hook's job.
RUNNER_ARGUMENTS = ("command", "progress", "job")


def inject(handler: Callable[..., Any], dependencies: Mapping[str, object]) -> Callable[..., Any]:
    """``handler`` with the dependencies it names bound; a name the root cannot give, and that has no
    default, stops the start."""
    parameters = inspect.signature(handler).parameters
    names = [name for name in parameters if name not in RUNNER_ARGUMENTS]
    unknown = [
        name for name in names if name not in dependencies and parameters[name].default is parameters[name].empty
    ]
    if unknown:
        raise TypeError(f"{handler.__name__} needs {', '.join(unknown)}, which the composition root does not give")
    return partial(handler, **{name: dependencies[name] for name in names if name in dependencies})


def job_handlers(dependencies: Mapping[str, object]) -> JobHandlers:
    """The handler of each kind of job, with what it names of ``dependencies``."""
    return JobHandlers(
        JobHandler(IngestSources, inject(ingest_job, dependencies)),
        JobHandler(
            IngestPart, inject(ingest_part_job, dependencies), on_finished=inject(finish_parent_if_last, dependencies)
        ),
        JobHandler(BackUpTables, inject(backup_job, dependencies)),
        JobHandler(RestoreTables, inject(restore_job, dependencies)),
    )


@dataclass
class Services:
    """This process's adapters, built once from the settings."""

    settings: Settings
    engine: Engine
    storage: BlobStorage

    @cached_property
    def database(self) -> SqlDatabase:
        """Units of work (``database()``) and whole-table snapshots, on the engine."""
        return SqlDatabase(self.engine)

    @cached_property
    def backup_format(self) -> BackupFormat:
        return AvroBackupFormat()

    @cached_property
    def reports(self) -> ReportQueries:
        return SqlReportQueries(self.engine)

    @cached_property
    def rows(self) -> RowQueries:
        """Stored rows read back a page at a time."""
        return SqlRowQueries(self.engine)

    @cached_property
    def queue(self) -> JobQueue:
        """Built on first use, so a process that never queues a job never connects to the broker."""
        from infra.broker.celery_app import CeleryJobQueue, make_celery

        return CeleryJobQueue(make_celery(self.settings))

    @property
    def handlers(self) -> JobHandlers:
        """Built on each use from the current settings and adapters: cheap, and never stale."""
        return self.handlers_with(queue=self.queue)

    def handlers_with(self, *, queue: JobQueue) -> JobHandlers:
        """The handlers, queueing the jobs they start (the parts of a split file) on ``queue``."""
        return job_handlers(
            {
                "uow": self.database,
                "snapshots": self.database,
                "single_writer": self.database.single_writer,
                "storage": self.storage,
                "queue": queue,
                "backup_format": self.backup_format,
                "splitting": Splitting(self.settings.ingest_parts, self.settings.ingest_part_min_bytes),
            }
        )

    def dispose(self) -> None:
        if "queue" in self.__dict__:
            self.queue.close()
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, *, create_tables: bool = True) -> Services:
    """Build the services for one process. Call it after fork, never before, so no engine is shared."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if create_tables:
        check_connection(engine)
        create_schema(engine)
    return Services(settings, engine, storage_from_settings(settings))


def check_backing_services(settings: Settings) -> None:
    """Before a server or worker starts: the database and the storage answer, or ``Unavailable`` says which not, why."""
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    storage_from_settings(settings).check()


TEXT_LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"


def log_to_stdout(settings: Settings) -> None:
    """Servers and workers log to stdout, at ``LOG_LEVEL``, as text lines or (``LOG_FORMAT=json``) JSON objects."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_LOG_FORMAT))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    logging.captureWarnings(True)  # a library's warning is a log record too, in the same format
