"""The worker's handlers for ``ingest`` jobs and for the ``ingest_part`` jobs a large file is split into.

Each handler names what it needs; the composition root hands it exactly that.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from core.clock import utcnow
from core.ingest.batches import batch_summaries
from core.ingest.loader import BatchResult, LoadReporter, ingest_blob
from core.ingest.parts import part_key, part_range, parts_for, record_parent_progress, resume_parts, start_parts
from core.ingest.ranges import plan_ranges
from core.jobs.exclusion import check_alone
from core.jobs.logs import log_summary
from core.jobs.ports import JobQueue
from core.jobs.progress import ProgressReporter
from core.storage import BlobStorage
from core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.background_jobs import Cancelled, Deferred
from domain.commands import IngestPart, IngestSources
from domain.entities import HIRED_EMPLOYEES
from domain.loads import BatchSummary, TableCounts

# The table whose file can be split between several workers: the largest, and the last loaded, so
# its parts run once every department and job they refer to is stored.
SPLIT_TABLE = HIRED_EMPLOYEES.name

log = logging.getLogger("hireflow.ingest")


@dataclass(frozen=True)
class Splitting:
    """How a large source is shared between workers: at most ``parts`` byte ranges, none under ``min_bytes``."""

    parts: int
    min_bytes: int


def ingest_job(
    command: IngestSources,
    progress: ProgressReporter,
    *,
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    queue: JobQueue,
    splitting: Splitting,
) -> dict[str, Any]:
    """An ``ingest`` job: each source into its table, in load order; a job run again resumes from its checkpoints.

    With ``splitting.parts`` above 1, a large ``hired_employees`` file is handed to ``ingest_part`` jobs
    once departments and jobs are loaded; they finish this job. A load of a record window runs whole, in
    this job: the window counts records from the start of the file, which a part does not know.
    """
    job_id = progress.job_id
    check_alone(uow, job_id, command.kind, command.to_params())
    if resume_parts(uow, queue, job_id):
        raise Deferred()
    sources = dict(command.sources)
    reporter = _SourcesProgress(progress, {table: storage.size(name) or 0 for table, name in sources.items()})
    results: dict[str, TableCounts] = {}
    for table, name in sources.items():
        if progress.should_stop():
            raise Cancelled()
        splits = table == SPLIT_TABLE and command.window is None
        if splits and _split(uow, storage, queue, splitting, job_id, name, reporter):
            raise Deferred()
        started = time.monotonic()
        results[table] = ingest_blob(uow, storage, table, name, job_id=job_id, reporter=reporter, window=command.window)
        log_summary(
            log, f"task {job_id} (ingest) {table}", results[table].as_dict(), time.monotonic() - started, table=table
        )
        reporter.source_done(table)
    totals = TableCounts()
    for counts in results.values():
        totals.add(counts)
    with uow() as tx:
        batches = batch_summaries(tx, job_id, {table: [table] for table in results})
    return {"tables": {t: c.as_dict() for t, c in results.items()}, **totals.as_dict(), "batches": batches}


class _SourcesProgress(LoadReporter):
    """An ingest job's progress over all its sources: the rows so far, and the share of their bytes read."""

    def __init__(self, progress: ProgressReporter, sizes: dict[str, int]) -> None:
        self.progress = progress
        self.sizes = sizes
        self.total_bytes = sum(sizes.values())
        self.bytes_before = 0
        self.counts: dict[str, TableCounts] = {}

    def loaded(self, uow: UnitOfWork, table: str, counts: TableCounts, done: int, size: int | None) -> None:
        self.counts[table] = counts
        rows = sum(c.processed for c in self.counts.values())
        read = self.bytes_before + min(done, self.sizes[table])
        share = read / self.total_bytes if self.total_bytes else 1.0
        self.progress(rows, percent=100.0 * share, counts={t: c.as_dict() for t, c in self.counts.items()}, uow=uow)

    def batch_written(self, uow: UnitOfWork, table: str, batch: BatchResult) -> None:
        uow.batches.add(self.progress.job_id, table, BatchSummary.of(batch.counts, batch.rejected))

    def source_done(self, table: str) -> None:
        self.bytes_before += self.sizes[table]

    def should_stop(self) -> bool:
        return self.progress.should_stop()


def _split(
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    queue: JobQueue,
    splitting: Splitting,
    job_id: str,
    name: str,
    sources: _SourcesProgress,
) -> bool:
    """Hand the file to parts if it is large enough to split and was not started whole before a crash."""
    size = sources.sizes[SPLIT_TABLE]
    wanted = parts_for(size, splitting.parts, splitting.min_bytes)
    if wanted < 2:
        return False
    with uow() as tx:
        if tx.checkpoints.get(job_id, SPLIT_TABLE) is not None:
            return False
    with storage.open(name) as stream:
        ranges = plan_ranges(stream, size, wanted)
    if len(ranges) < 2:
        return False
    parts = start_parts(
        uow,
        queue,
        job_id,
        SPLIT_TABLE,
        name,
        ranges,
        bytes_before=sources.bytes_before,
        bytes_total=sources.total_bytes,
    )
    with uow() as tx:
        record_parent_progress(tx, parts[0], utcnow())
        tx.commit()
    return True


def ingest_part_job(
    command: IngestPart, progress: ProgressReporter, *, uow: UnitOfWorkFactory, storage: BlobStorage
) -> dict[str, Any]:
    """An ``ingest_part`` job: one byte range of the parent's source, under the parent's id."""
    check_alone(uow, progress.job_id, command.kind, command.to_params())
    with uow() as tx:
        parent = tx.jobs.get(command.parent)
    if parent is None or parent.finished or parent.cancel_requested:
        raise Cancelled()
    started = time.monotonic()
    counts = ingest_blob(
        uow,
        storage,
        command.table,
        command.blob,
        part=part_range(command),
        job_id=command.parent,
        checkpoint_key=part_key(command.table, command.part),
        reporter=_PartProgress(progress, command),
    )
    what = f"task {progress.job_id} (ingest_part {command.part} of {command.parent}) {command.table}"
    log_summary(log, what, counts.as_dict(), time.monotonic() - started, table=command.table)
    return {"tables": {command.table: counts.as_dict()}, **counts.as_dict()}


class _PartProgress(LoadReporter):
    """A part's own progress, and its parent's summed one, both in the batch's unit of work."""

    def __init__(self, progress: ProgressReporter, part: IngestPart) -> None:
        self.progress = progress
        self.part = part
        self.parent_runs = True

    def loaded(self, uow: UnitOfWork, table: str, counts: TableCounts, done: int, size: int | None) -> None:
        percent = 100.0 * done / size if size else 100.0
        self.progress(counts.processed, percent=percent, counts={table: counts.as_dict()}, uow=uow)
        lease = record_parent_progress(uow, self.part, utcnow())
        self.parent_runs = lease.held and not lease.cancel_requested

    def batch_written(self, uow: UnitOfWork, table: str, batch: BatchResult) -> None:
        key = part_key(table, self.part.part)
        uow.batches.add(self.part.parent, key, BatchSummary.of(batch.counts, batch.rejected))

    def should_stop(self) -> bool:
        return self.progress.should_stop() or not self.parent_runs
