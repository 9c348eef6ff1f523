"""Migrating CSV files as a background job: check and upload the sources, submit, and the worker's function."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, Any

from core.clock import Clock, utcnow
from core.csv_ranges import plan_ranges
from core.ingest import ingest_blob
from core.jobs import ProgressReporter, StopCheck, new_job_id, submit_job
from core.ports import BlobStorage, JobQueue, JobStore
from core.split_ingest import parts_for, record_parent_progress, resume_parts, start_parts
from core.table_exclusion import JobAdmission, admitting, check_alone, check_free
from domain.background_jobs import BackgroundJob, Cancelled, Deferred
from domain.entities import HIRED_EMPLOYEES, TABLES
from domain.errors import InvalidRequest, SourceNotFound, TableBusy
from domain.loads import TableCounts

# The table whose file can be split between several workers: the largest, and the last loaded, so
# its parts run once every department and job they refer to is stored.
SPLIT_TABLE = HIRED_EMPLOYEES.name
INGEST = "ingest"

log = logging.getLogger("hireflow.ingest")


def root_sources(tables: list[str] | None = None) -> dict[str, str]:
    """The CSV files at the root of the storage: ``departments.csv``, ``jobs.csv``, ``hired_employees.csv``."""
    return {table: f"{table}.csv" for table in tables or TABLES}


def upload_name(job_id: str, table: str) -> str:
    return f"uploads/{job_id}/{table}.csv"


def submit_ingest(
    jobs: JobStore,
    queue: JobQueue,
    storage: BlobStorage,
    sources: Mapping[str, str],
    *,
    admission: JobAdmission,
    job_id: str | None = None,
    now: Clock = utcnow,
) -> BackgroundJob:
    """Queue the migration of ``{table: blob name}``; refuse it at once if a blob is missing, or with
    ``TableBusy`` while a restore of one of the tables is pending or running."""
    unknown = [table for table in sources if table not in TABLES]
    if unknown:
        raise InvalidRequest(f"unknown table(s): {', '.join(unknown)}", {"accepted": list(TABLES)})
    if not sources:
        raise InvalidRequest("nothing to migrate: name at least one table")
    missing = [name for name in sources.values() if not storage.exists(name)]
    if missing:
        raise SourceNotFound(f"missing in storage: {', '.join(missing)}", {"missing": missing})
    ordered = {table: sources[table] for table in TABLES if table in sources}
    return submit_job(jobs, queue, INGEST, {"sources": ordered}, job_id=job_id, now=now, record=admitting(admission))


def upload_and_submit_ingest(
    jobs: JobStore,
    queue: JobQueue,
    storage: BlobStorage,
    files: Mapping[str, IO[bytes]],
    *,
    admission: JobAdmission,
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
    check_free(admission, INGEST, files)
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
        return submit_ingest(jobs, queue, storage, sources, admission=admission, job_id=job_id, now=now)
    except TableBusy:
        _discard(storage, list(sources.values()))
        raise


def _discard(storage: BlobStorage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # noqa: BLE001 - the error that made us clean up is the one to report
            log.warning("could not delete %s after a failed upload", name, exc_info=True)


def ingest_job(
    services: Any, params: dict[str, Any], progress: ProgressReporter, should_stop: StopCheck
) -> dict[str, Any]:
    """The worker's function for ``ingest`` jobs; a job run again resumes from its checkpoints.

    With ``INGEST_PARTS`` above 1, a large ``hired_employees`` file is handed to ``ingest_part`` jobs
    once departments and jobs are loaded; they finish this job.
    """
    check_alone(services.admission, progress.job_id, INGEST, params)
    store, storage = services.store, services.storage
    sources: dict[str, str] = params["sources"]
    if resume_parts(services, progress.job_id):
        raise Deferred()
    sizes = {table: storage.size(name) or 0 for table, name in sources.items()}
    total_bytes = sum(sizes.values())
    results: dict[str, TableCounts] = {}
    bytes_before = 0

    def report(table: str, counts: TableCounts, done: int, _size: int | None) -> None:
        results[table] = counts
        rows = sum(c.processed for c in results.values())
        share = (bytes_before + min(done, sizes[table])) / total_bytes if total_bytes else 1.0
        progress(rows, percent=100.0 * share, counts={t: c.as_dict() for t, c in results.items()})

    for table, name in sources.items():
        if should_stop():
            raise Cancelled()
        if table == SPLIT_TABLE and _split(services, progress, name, sizes[table], bytes_before, total_bytes):
            raise Deferred()
        results[table] = ingest_blob(
            store, storage, table, name, job_id=progress.job_id, on_progress=report, should_stop=should_stop
        )
        bytes_before += sizes[table]
    totals = TableCounts()
    for counts in results.values():
        totals.add(counts)
    return {"tables": {t: c.as_dict() for t, c in results.items()}, **totals.as_dict()}


def _split(
    services: Any, progress: ProgressReporter, name: str, size: int, bytes_before: int, bytes_total: int
) -> bool:
    """Hand the file to parts if it is large enough to split and was not started whole before a crash."""
    settings = services.settings
    wanted = parts_for(size, settings.ingest_parts, settings.ingest_part_min_bytes)
    if wanted < 2 or services.store.load_checkpoint(progress.job_id, SPLIT_TABLE) is not None:
        return False
    with services.storage.open(name) as stream:
        ranges = plan_ranges(stream, size, wanted)
    if len(ranges) < 2:
        return False
    parts = start_parts(
        services.jobs,
        services.queue,
        progress.job_id,
        SPLIT_TABLE,
        name,
        ranges,
        bytes_before=bytes_before,
        bytes_total=bytes_total,
    )
    record_parent_progress(services, parts[0].params)
    return True
