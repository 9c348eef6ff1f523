"""The worker's functions for ``ingest`` jobs and for the ``ingest_part`` jobs a large file is split into."""

from __future__ import annotations

import logging
from typing import Any

from core.ingest.csv_source import ByteRange
from core.ingest.loader import ingest_blob
from core.ingest.parts import (
    PART_KIND,
    part_key,
    parts_for,
    record_parent_progress,
    resume_parts,
    start_parts,
)
from core.ingest.ranges import plan_ranges
from core.ingest.submit import INGEST
from core.jobs import ProgressReporter, StopCheck
from core.table_exclusion import check_alone
from domain.background_jobs import Cancelled, Deferred
from domain.entities import HIRED_EMPLOYEES
from domain.loads import TableCounts

# The table whose file can be split between several workers: the largest, and the last loaded, so
# its parts run once every department and job they refer to is stored.
SPLIT_TABLE = HIRED_EMPLOYEES.name

log = logging.getLogger("hireflow.ingest")


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


def ingest_part_job(
    services: Any, params: dict[str, Any], progress: ProgressReporter, should_stop: StopCheck
) -> dict[str, Any]:
    """The worker's function for ``ingest_part`` jobs: one range of the parent's source."""
    check_alone(services.admission, progress.job_id, PART_KIND, params)
    parent = services.jobs.get(params["parent"])
    if parent is None or parent.finished or parent.cancel_requested:
        raise Cancelled()
    table = params["table"]
    part = ByteRange(params["start"], params["end"], params["first_line"])
    parent_runs = True

    def report(_table: str, counts: TableCounts, done: int, size: int | None) -> None:
        nonlocal parent_runs
        progress(counts.processed, percent=100.0 * done / size if size else 100.0, counts={table: counts.as_dict()})
        parent_runs = record_parent_progress(services, params)

    counts = ingest_blob(
        services.store,
        services.storage,
        table,
        params["blob"],
        part=part,
        job_id=params["parent"],
        checkpoint_key=part_key(table, params["part"]),
        on_progress=report,
        should_stop=lambda: should_stop() or not parent_runs,
    )
    return {"tables": {table: counts.as_dict()}, **counts.as_dict()}
