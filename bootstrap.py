"""The composition root: builds the real adapters from settings. Flask, Celery and the CLI all start here."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from core.backup.handlers import backup_job, restore_job
from core.backup.ports import BackupFormat, TableArchive
from core.config import Settings, load_settings
from core.ingest.handlers import ingest_job, ingest_part_job
from core.ingest.parts import PART_KIND, finish_parent_if_last
from core.jobs import JobKinds
from core.ports import HiringStore, JobQueue, JobStore, SplitJobs
from core.reports.ports import ReportQueries
from core.storage import BlobStorage
from core.table_exclusion import JobAdmission
from infra.avro.format import AvroBackupFormat
from infra.db.archive import SqlTableArchive
from infra.db.engine import check_connection, create_schema, make_engine
from infra.db.exclusion import SqlJobAdmission
from infra.db.jobs import SqlJobStore, SqlSplitJobs
from infra.db.reports import SqlReportQueries
from infra.db.store import SqlHiringStore
from infra.storage import storage_from_settings


def job_kinds() -> JobKinds:
    """The function the worker runs for each kind of job."""
    kinds = JobKinds()
    kinds.register("ingest", ingest_job)
    kinds.register("backup", backup_job)
    kinds.register("restore", restore_job)
    kinds.register(PART_KIND, ingest_part_job, on_finished=finish_parent_if_last)
    return kinds


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: HiringStore
    storage: BlobStorage
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def archive(self) -> TableArchive:
        """Whole-table reads and replacement, for backup and restore."""
        return SqlTableArchive(self.engine)

    @property
    def backup_format(self) -> BackupFormat:
        return AvroBackupFormat()

    @property
    def reports(self) -> ReportQueries:
        """The report queries, on the same engine."""
        return SqlReportQueries(self.engine)

    @cached_property
    def jobs(self) -> JobStore:
        return SqlJobStore(self.engine)

    @cached_property
    def split_jobs(self) -> SplitJobs:
        return SqlSplitJobs(self.engine)

    @cached_property
    def admission(self) -> JobAdmission:
        """Records jobs that write tables, one restore at a time beside the other writers."""
        return SqlJobAdmission(self.engine)

    @cached_property
    def queue(self) -> JobQueue:
        """Built on first use, so a process that never queues a job never connects to the broker."""
        from infra.broker.celery_app import CeleryJobQueue, make_celery

        return CeleryJobQueue(make_celery(self.settings))

    @cached_property
    def job_kinds(self) -> JobKinds:
        return job_kinds()

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
    services = Services(settings, engine, SqlHiringStore(engine), storage_from_settings(settings))
    services.extras["broker_check"] = lambda: services.queue.check()
    return services


def check_backing_services(settings: Settings) -> None:
    """Before a server or worker starts: the database and the storage answer, or ``Unavailable`` says which not, why."""
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    storage_from_settings(settings).check()


def log_to_stdout(settings: Settings) -> None:
    """Servers and workers log to stdout, at ``LOG_LEVEL``."""
    logging.basicConfig(
        stream=sys.stdout,
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
        force=True,
    )
