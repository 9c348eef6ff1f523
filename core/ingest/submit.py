"""Queue the migration of CSV files as an ``ingest`` job: the files at the storage root, or files uploaded now."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO

from core.clock import Clock, utcnow
from core.jobs.exclusion import check_free
from core.jobs.ports import JobQueue
from core.jobs.submit import new_job_id, submit_job
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWorkFactory
from domain.background_jobs import BackgroundJob
from domain.commands import IngestSources
from domain.entities import TABLES
from domain.errors import InvalidRequest, SourceNotFound, TableBusy
from domain.loads import RecordWindow

log = logging.getLogger("hireflow.ingest")


def root_sources(tables: list[str] | None = None) -> dict[str, str]:
    """The CSV files at the root of the storage: ``departments.csv``, ``jobs.csv``, ``hired_employees.csv``."""
    return {table: f"{table}.csv" for table in tables or TABLES}


def upload_name(job_id: str, table: str) -> str:
    return f"uploads/{job_id}/{table}.csv"


def submit_ingest(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    storage: BlobStorage,
    sources: Mapping[str, str],
    *,
    job_id: str | None = None,
    window: RecordWindow | None = None,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Queue the migration of ``{table: blob name}``, or of a ``window`` of each blob's records; refuse it at once
    if a blob is missing, or with ``TableBusy`` while a restore of one of the tables is pending or running."""
    unknown = [table for table in sources if table not in TABLES]
    if unknown:
        raise InvalidRequest(f"unknown table(s): {', '.join(unknown)}", {"accepted": list(TABLES)})
    if not sources:
        raise InvalidRequest("nothing to migrate: name at least one table")
    missing = [name for name in sources.values() if not storage.exists(name)]
    if missing:
        raise SourceNotFound(f"missing in storage: {', '.join(missing)}", {"missing": missing})
    command = IngestSources(tuple((table, sources[table]) for table in TABLES if table in sources), window)
    return submit_job(uow, queue, command, job_id=job_id, now=now)


def upload_and_submit_ingest(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    storage: BlobStorage,
    files: Mapping[str, IO[bytes]],
    *,
    window: RecordWindow | None = None,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Store each uploaded CSV under ``uploads/<job id>/`` and queue their migration.

    If a file cannot be stored (the storage is full, say), the files already stored are deleted again and
    no job is recorded: a failed upload leaves nothing behind.
    """
    unknown = [name for name in files if name not in TABLES]
    if unknown:
        raise InvalidRequest(
            f"unknown file field(s): {', '.join(unknown)}; send departments, jobs and/or hired_employees",
            {"accepted": list(TABLES)},
        )
    check_free(uow, IngestSources.kind, files)
    job_id = new_job_id()
    sources: dict[str, str] = {}
    try:
        for table, stream in files.items():
            sources[table] = upload_name(job_id, table)
            storage.write(sources[table], stream)
    except BaseException:
        _discard(storage, list(sources.values()))
        raise
    try:
        return submit_ingest(uow, queue, storage, sources, job_id=job_id, window=window, now=now)
    except TableBusy:
        _discard(storage, list(sources.values()))
        raise


def _discard(storage: BlobStorage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # noqa: BLE001 - the error that made us clean up is the one to report
            log.warning("could not delete %s after a failed upload", name, exc_info=True)


def nothing_stored(uow: UnitOfWorkFactory) -> bool:
    """True while the hiring tables hold no row at all: a first start, before any load."""
    with uow() as tx:
        return all(tx.rows.count(table) == 0 for table in TABLES)
