"""The composition root: builds the real adapters from settings. Flask, Celery and the CLI all start here."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from core.config import Settings, load_settings
from core.ports import BackupFormat, BlobStorage, HiringStore, TableArchive
from core.reports import ReportQueries
from infra.avro.format import AvroBackupFormat
from infra.db.archive import SqlTableArchive
from infra.db.engine import create_schema, make_engine
from infra.db.reports import SqlReportQueries
from infra.db.store import SqlHiringStore
from infra.storage import storage_from_settings


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

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, *, create_tables: bool = True) -> Services:
    """Build the services for one process. Call it after fork, never before, so no engine is shared."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if create_tables:
        create_schema(engine)
    return Services(settings, engine, SqlHiringStore(engine), storage_from_settings(settings))
