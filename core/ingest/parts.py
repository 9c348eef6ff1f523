"""One large CSV source loaded by several workers at once, fanned out and back in on our own job table.

The parent ``ingest`` job plans byte ranges that start on record boundaries and records one
``ingest_part`` job per range, all together, then queues them and leaves itself running. Each part
streams its range alone, in the same 1000-row batches as any load, with a checkpoint of its own
(``hired_employees#3``) and its rejections under the parent's id; each batch also records on the
parent the sum of every part's checkpoint, in the batch's own unit of work. The last part to finish
records the parent's outcome.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from core.clock import Clock, utcnow
from core.ingest.batches import batch_summaries
from core.ingest.csv_source import ByteRange
from core.jobs.logs import log_summary
from core.jobs.ports import JobQueue
from core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.background_jobs import BackgroundJob, JobProgress, JobState, Lease
from domain.commands import IngestPart, IngestSources
from domain.loads import TableCounts

_PART_IDS = uuid.UUID("5d0c7d1e-9b5f-4a8e-9a57-2f3c61a0e2b4")

log = logging.getLogger("hireflow.ingest")


def parts_for(size: int, parts: int, min_bytes: int) -> int:
    """How many parts a source of ``size`` bytes is split into: at most ``parts``, none under ``min_bytes``."""
    return max(1, min(parts, size // max(1, min_bytes)))


def part_job_id(parent_id: str, part: int) -> str:
    """The same id for the same part of the same parent, so recording the parts twice is harmless."""
    return str(uuid.uuid5(_PART_IDS, f"{parent_id}/{part}"))


def part_key(table: str, part: int) -> str:
    """The part's checkpoint, kept under the parent's id beside the parent's own per-table checkpoints."""
    return f"{table}#{part}"


def part_range(part: IngestPart) -> ByteRange:
    return ByteRange(part.start, part.end, part.first_line)


def start_parts(
    uow: UnitOfWorkFactory,
    queue: JobQueue,
    parent_id: str,
    table: str,
    blob_name: str,
    ranges: list[ByteRange],
    *,
    bytes_before: int,
    bytes_total: int,
    now: Clock = utcnow,
) -> list[IngestPart]:
    """Record one ``ingest_part`` job per range, all in one unit of work, then queue each."""
    lines = sum(r.lines for r in ranges)
    parts = [
        IngestPart(
            parent_id,
            table,
            blob_name,
            r.start,
            r.end,
            r.first_line,
            number,
            len(ranges),
            lines,
            bytes_before,
            bytes_total,
        )
        for number, r in enumerate(ranges)
    ]
    with uow() as tx:
        for part in parts:
            job_id = part_job_id(parent_id, part.part)
            tx.jobs.add(BackgroundJob(id=job_id, kind=part.kind, params=part.to_params(), created_at=now()))
        tx.commit()
    for part in parts:
        queue.enqueue(part_job_id(parent_id, part.part), part.kind)
    return parts


def resume_parts(uow: UnitOfWorkFactory, queue: JobQueue, parent_id: str, now: Clock = utcnow) -> bool:
    """For a parent run again (after a crash, or found stale): queue again the parts still pending,
    record the summed progress, and record the outcome if every part finished. False if it has no parts."""
    with uow() as tx:
        first = tx.jobs.get(part_job_id(parent_id, 0))
    if first is None:
        return False
    part = IngestPart.from_params(first.params)
    for child in siblings(uow, part):
        if child is not None and child.state == JobState.PENDING:
            queue.enqueue(child.id, child.kind)
    with uow() as tx:
        record_parent_progress(tx, part, now())
        tx.commit()
    finish_parent_if_last(first, uow=uow, now=now)
    return True


def siblings(uow: UnitOfWorkFactory, part: IngestPart) -> list[BackgroundJob | None]:
    with uow() as tx:
        return [tx.jobs.get(part_job_id(part.parent, number)) for number in range(part.parts)]


def record_parent_progress(tx: UnitOfWork, part: IngestPart, now: datetime) -> Lease:
    """In ``tx``: record on the parent the sum of its parts' checkpoints, as its counts under the part's table.

    The parent's row is taken first, before anything is read: parts record one at a time, each summing
    every checkpoint committed before it (and its own), so the parent's counts never go back. Nothing is
    written once the parent finished. The lease says whether the parent still runs, and whether it was
    asked to stop.
    """
    lease = tx.jobs.hold(part.parent, now)
    parent = tx.jobs.get(part.parent) if lease.held else None
    if parent is not None:
        keys = [part_key(part.table, number) for number in range(part.parts)]
        counts = {**parent.progress.counts, part.table: tx.checkpoints.total(part.parent, keys).as_dict()}
        tx.jobs.set_progress(part.parent, parent_progress(part, counts))
    return lease


def parent_progress(part: IngestPart, counts: dict[str, dict[str, int]]) -> JobProgress:
    """The parent's progress from its counts: the sources before the split one count whole, the split one by
    the share of its lines processed."""
    # The planner counted physical lines, not records; the header and any line break inside a
    # quoted field make the share end a little under 1 until the parent finishes at 100%.
    expected = max(1, part.lines - 1)
    rows = sum(c.get("processed", 0) for c in counts.values())
    share = min(1.0, counts.get(part.table, {}).get("processed", 0) / expected)
    before, total = part.bytes_before, part.bytes_total
    percent = 100.0 * (before + (total - before) * share) / total if total else 0.0
    return JobProgress(rows, None, round(min(percent, 100.0), 2), counts)


def finish_parent_if_last(job: BackgroundJob, *, uow: UnitOfWorkFactory, now: Clock = utcnow) -> bool:
    """Once every part finished, record the parent's outcome: SUCCESS with the summed counts, or FAILURE
    (CANCELLED) if a part failed (was cancelled). Safe to call from every part: one call records it."""
    part = IngestPart.from_params(job.params)
    children = siblings(uow, part)
    if not all(child is not None and child.finished for child in children):
        return False
    with uow() as tx:
        parent = tx.jobs.get(part.parent)
        if parent is None or parent.finished:
            return False
        tables = _table_counts(tx, parent, part)
        totals = TableCounts()
        for counts in tables.values():
            totals.add(counts)
        counts_by_table = {t: c.as_dict() for t, c in tables.items()}
        failed = [c for c in children if c is not None and c.state == JobState.FAILURE]
        cancelled = [c for c in children if c is not None and c.state == JobState.CANCELLED]
        result: dict[str, Any] | None = None
        error: str | None = None
        if failed:
            state, percent = JobState.FAILURE, parent.progress.percent
            error = "; ".join(f"part {c.params['part']}: {c.error}" for c in failed)[:2000]
        elif cancelled:
            state, percent = JobState.CANCELLED, parent.progress.percent
        else:
            state, percent = JobState.SUCCESS, 100.0
            keys = {table: _keys(part, table) for table in tables}
            result = {"tables": counts_by_table, **totals.as_dict(), "batches": batch_summaries(tx, parent.id, keys)}
        progress = JobProgress(totals.processed, parent.progress.rows_total, percent, counts_by_table)
        recorded = tx.jobs.finish(parent.id, state, now(), progress=progress, result=result, error=error)
        tx.commit()
    if recorded:
        about = {"job_id": parent.id, "kind": parent.kind}
        what = f"task {parent.id} ({parent.kind}) {state.value} after its {len(children)} parts"
        seconds = (now() - parent.started_at).total_seconds() if parent.started_at else 0.0
        if state is JobState.SUCCESS:
            log_summary(log, what, totals.as_dict(), seconds, state=state.value, job=about)
        elif state is JobState.FAILURE:
            log.error("%s: %s", what, error, extra={**about, "state": state.value, "error": error})
        else:
            log.info("%s", what, extra={**about, "state": state.value})
    return recorded


def _table_counts(tx: UnitOfWork, parent: BackgroundJob, part: IngestPart) -> dict[str, TableCounts]:
    tables: dict[str, TableCounts] = {}
    for table, _blob in IngestSources.from_params(parent.params).sources:
        tables[table] = tx.checkpoints.total(parent.id, _keys(part, table))
    return tables


def _keys(part: IngestPart, table: str) -> list[str]:
    """The checkpoint keys of ``table``'s load in the parent, in file order: one per part for the split table."""
    return [part_key(table, n) for n in range(part.parts)] if table == part.table else [table]
