"""The SQL schema, as SQLAlchemy Core tables. A change here needs a migration: ``python main.py db revision``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Unicode,
    UnicodeText,
    false,
)

metadata = MetaData()

departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("department", Unicode(100), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("job", Unicode(100), nullable=False),
)

hired_employees = Table(
    "hired_employees",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", Unicode(100), nullable=False),
    Column("datetime", DateTime(timezone=False), nullable=False),  # UTC
    Column("department_id", Integer, ForeignKey("departments.id"), nullable=False),
    Column("job_id", Integer, ForeignKey("jobs.id"), nullable=False),
    Index("ix_hired_employees_datetime", "datetime"),
    # Covering indexes for the two reports: at 1 000 000 employees on SQLite they take the
    # quarterly report from about 2.2 s to 0.2 s and the above-the-mean one from 0.77 s to 0.05 s
    # (`python -m bench --only reports`). They cost some ingest speed; see README, Performance.
    Index("ix_hired_employees_department_job_datetime", "department_id", "job_id", "datetime"),
    Index("ix_hired_employees_department_datetime", "department_id", "datetime"),
)

rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=True),
    Column("batch", Integer, nullable=True),
    Column("table_name", String(32), nullable=False),
    Column("source", Unicode(400), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("raw_record", UnicodeText, nullable=False),
    Column("reasons", UnicodeText, nullable=False),  # JSON list of {code, field, message}
    Column("created_at", DateTime(timezone=False), nullable=False),
    Index("ix_rejected_rows_job_id", "job_id", "id"),
)

ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("table_name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("processed", BigInteger, nullable=False),
    Column("inserted", BigInteger, nullable=False),
    Column("already_exists", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    # A bulk load's secondary indexes are dropped until it ends (infra/db/bulk.py).
    Column("indexes_pending", Boolean, nullable=False, server_default=false()),
)

# One row per committed batch of a load, in the shape the original service answered (see domain.loads.BatchSummary).
ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("table_name", String(32), primary_key=True),
    Column("batch", Integer, primary_key=True, autoincrement=False),
    Column("processed", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("already_exists", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("error_ids", JSON, nullable=False),
)

HIRING_TABLES = {t.name: t for t in (departments, jobs, hired_employees)}

# Background jobs (ingest, backup, restore). Named so as not to clash with the hiring table ``jobs``.
background_jobs = Table(
    "background_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("params", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("rows_done", BigInteger, nullable=False, default=0),
    Column("rows_total", BigInteger, nullable=True),
    Column("percent", Float, nullable=False, default=0.0),
    Column("counts", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("error", UnicodeText, nullable=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("started_at", DateTime(timezone=False), nullable=True),
    Column("finished_at", DateTime(timezone=False), nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("worker", String(200), nullable=True),
    Column("heartbeat_at", DateTime(timezone=False), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_background_jobs_created_at", "created_at"),
    Index("ix_background_jobs_state_created_at", "state", "created_at"),
)


SQLITE_ANALYSIS_ROWS = 1000


def secondary_indexes(table: Table) -> list[Index]:
    """The indexes the schema gives ``table`` besides its primary key, in name order."""
    return sorted(table.indexes, key=lambda index: str(index.name))


def drop_secondary_indexes(conn: Connection, table: Table) -> None:
    """Drop the secondary indexes of ``table`` that exist, in the connection's transaction.

    PostgreSQL and SQLite roll DDL back with the transaction, so a load that fails leaves them in place.
    """
    for index in secondary_indexes(table):
        index.drop(conn, checkfirst=True)


# The page cache SQLite sorts an index's keys in while it builds it. The connections' own 64 MB
# (infra/db/engine.py) made building the three indexes of 1 000 000 hires take 4.2–4.7 s of CPU
# instead of 2.5–3.0 s with SQLite's default 2 MB (``PRAGMA cache_size=-2000``), side by side here.
SQLITE_INDEX_BUILD_CACHE = -2000


@contextmanager
def index_build_memory(conn: Connection) -> Iterator[None]:
    """While indexes are built on SQLite: the page cache its sorter is fastest with, then the connection's own."""
    if conn.dialect.name != "sqlite":
        yield
        return
    own = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_INDEX_BUILD_CACHE}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(own or SQLITE_INDEX_BUILD_CACHE)}")


def create_secondary_indexes(conn: Connection, table: Table) -> None:
    """Build the secondary indexes of ``table`` that are missing, as the schema above defines them."""
    with index_build_memory(conn):
        for index in secondary_indexes(table):
            index.create(conn, checkfirst=True)


def refresh_statistics(conn: Connection, table: Table) -> None:
    """Gather the planner's statistics of ``table`` and its indexes, so queries plan on the new indexes at once.

    SQLite forgets an index's statistics when it is dropped, and plans without them on a guess.
    """
    if conn.dialect.name == "sqlite":
        # A sample of each index is enough for the planner to choose, and takes milliseconds
        # instead of a scan of every index (0.37 s for 200 000 employees).
        conn.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_ROWS}")
        conn.exec_driver_sql(f"ANALYZE {table.name}")
        conn.exec_driver_sql("PRAGMA analysis_limit=0")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")  # PostgreSQL samples on its own
