"""Engines for SQLite, PostgreSQL and SQL Server / Azure SQL, tuned for bulk loading."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from domain.errors import ConfigurationError, Unavailable
from infra.db.upgrade import upgrade_schema


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3, which has COPY."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **options: Any) -> Engine:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid SQLAlchemy URL: {error}") from None
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif backend == "mssql":
        kwargs["fast_executemany"] = True
    kwargs.update(options)
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as error:
        raise ConfigurationError(f"DATABASE_URL needs a driver that is not installed: {error}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


# Set on every SQLite connection. The benchmark's raw baseline uses the same list, so that
# both sides of its comparison run on one configuration.
SQLITE_PRAGMAS = (
    "foreign_keys=ON",
    # WAL lets the web process read while a worker writes; NORMAL sync is durable
    # across application crashes in WAL mode and much faster than FULL.
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "busy_timeout=30000",
    # 64 MB of page cache instead of 2 MB: the datetime index of a million hires, which
    # every batch touches at random places, stays in memory instead of being read again
    # through the file system on every commit. Pages are taken only as they are used.
    "cache_size=-65536",
    # Checkpoint the WAL every 10 000 pages (40 MB) rather than every 1000: a batch of hires
    # dirties hundreds of index pages, so the default copied them back and synced the file
    # after nearly every commit. What a crash can cost stays what NORMAL already allows.
    "wal_autocheckpoint=10000",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (``infra/db/upgrade.py``). Safe to run again, and at once."""
    upgrade_schema(engine)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; the database being unreachable, or lost mid-way, surfaces as ``Unavailable``."""
    try:
        with engine.connect() as conn:
            yield conn
    except OperationalError as error:
        raise Unavailable("the database cannot be reached", {"reason": first_line(error)}) from None


def first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", error))
    return text.splitlines()[0] if text else type(error).__name__
