"""The composition root: builds the real adapters from settings. Flask, Celery and the CLI all start here."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from core.config import Settings, load_settings
from core.ports import BlobStorage, HiringStore
from core.reports import ReportQueries
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

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, *, create_tables: bool = True) -> Services:
    """Build the services for one process. Call it after fork, never before, so no engine is shared."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if create_tables:
        create_schema(engine)
    return Services(settings, engine, SqlHiringStore(engine), storage_from_settings(settings))


def report_queries(services: Services) -> ReportQueries:
    """The report adapter: ``extras["reports"]`` if a test put one there, else SQL on the services' engine."""
    queries = services.extras.get("reports")
    if not isinstance(queries, ReportQueries):
        queries = SqlReportQueries(services.engine)
        services.extras["reports"] = queries
    return queries
