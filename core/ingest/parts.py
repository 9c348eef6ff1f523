"""One large CSV source loaded by several workers at once, fanned out and back in on our own job table.

The parent ``ingest`` job plans byte ranges that start on record boundaries and records one
``ingest_part`` job per range, all together, then queues them and leaves itself running. Each part
streams its range alone, in the same 1000-row batches as any load, with a checkpoint of its own
(``hired_employees#3``) and its rejections under the parent's id; after each batch it records on the
parent the sum of every part's checkpoint. The last part to finish records the parent's outcome.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from core.clock import Clock, utcnow
from core.ingest.csv_source import ByteRange
from core.ports import HiringStore, JobQueue, JobStore
from domain.background_jobs import BackgroundJob, JobProgress, JobState
from domain.loads import TableCounts

PART_KIND = "ingest_part"
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


def start_parts(
    jobs: JobStore,
    queue: JobQueue,
    parent_id: str,
    table: str,
    blob_name: str,
    ranges: list[ByteRange],
    *,
    bytes_before: int,
    bytes_total: int,
    now: Clock = utcnow,
) -> list[BackgroundJob]:
    """Record one ``ingest_part`` job per range, all or none, then queue each."""
    lines = sum(r.lines for r in ranges)
    children = [
        BackgroundJob(
            id=part_job_id(parent_id, number),
            kind=PART_KIND,
            params={
                "parent": parent_id,
                "table": table,
                "blob": blob_name,
                "start": part.start,
                "end": part.end,
                "first_line": part.first_line,
                "part": number,
                "parts": len(ranges),
                "lines": lines,
                "bytes_before": bytes_before,
                "bytes_total": bytes_total,
            },
            created_at=now(),
        )
        for number, part in enumerate(ranges)
    ]
    jobs.add_all(children)
    for child in children:
        queue.enqueue(child.id)
    return children


def resume_parts(services: Any, parent_id: str, now: Clock = utcnow) -> bool:
    """For a parent run again (after a crash, or found stale): queue again the parts still pending,
    record the summed progress, and record the outcome if every part finished. False if it has no parts."""
    first = services.jobs.get(part_job_id(parent_id, 0))
    if first is None:
        return False
    children = siblings(services.jobs, first)
    for child in children:
        if child is not None and child.state == JobState.PENDING:
            services.queue.enqueue(child.id)
    record_parent_progress(services, first.params, now)
    finish_parent_if_last(services, first, now)
    return True


def siblings(jobs: JobStore, part: BackgroundJob) -> list[BackgroundJob | None]:
    parent_id, count = part.params["parent"], part.params["parts"]
    return [jobs.get(part_job_id(parent_id, number)) for number in range(count)]


def record_parent_progress(services: Any, params: dict[str, Any], now: Clock = utcnow) -> bool:
    """Record on the parent the sum of its parts' checkpoints; True while the parent runs and was not cancelled."""
    table, count = params["table"], params["parts"]
    keys = [part_key(table, number) for number in range(count)]
    lease = services.split_jobs.record_progress(params["parent"], table, keys, _summed(params), now())
    return lease.held and not lease.cancel_requested


def _summed(params: dict[str, Any]) -> Callable[[dict[str, dict[str, int]]], JobProgress]:
    table = params["table"]
    before, total = params["bytes_before"], params["bytes_total"]
    # The planner counted physical lines, not records; the header and any line break inside a
    # quoted field make the share end a little under 1 until the parent finishes at 100%.
    expected = max(1, params["lines"] - 1)

    def progress(counts: dict[str, dict[str, int]]) -> JobProgress:
        rows = sum(c.get("processed", 0) for c in counts.values())
        share = min(1.0, counts.get(table, {}).get("processed", 0) / expected)
        percent = 100.0 * (before + (total - before) * share) / total if total else 0.0
        return JobProgress(rows, None, round(min(percent, 100.0), 2), counts)

    return progress


def finish_parent_if_last(services: Any, part: BackgroundJob, now: Clock = utcnow) -> bool:
    """Once every part finished, record the parent's outcome: SUCCESS with the summed counts, or FAILURE
    (CANCELLED) if a part failed (was cancelled). Safe to call from every part: one call records it."""
    children = siblings(services.jobs, part)
    if not all(child is not None and child.finished for child in children):
        return False
    parent_id = part.params["parent"]
    parent = services.jobs.get(parent_id)
    if parent is None or parent.finished:
        return False
    tables = _table_counts(services.store, parent, part.params["table"], part.params["parts"])
    totals = TableCounts()
    for counts in tables.values():
        totals.add(counts)
    counts_by_table = {t: c.as_dict() for t, c in tables.items()}
    failed = [c for c in children if c is not None and c.state == JobState.FAILURE]
    cancelled = [c for c in children if c is not None and c.state == JobState.CANCELLED]
    if failed:
        state, result = JobState.FAILURE, None
        error: str | None = "; ".join(f"part {c.params['part']}: {c.error}" for c in failed)[:2000]
        percent = parent.progress.percent
    elif cancelled:
        state, result, error, percent = JobState.CANCELLED, None, None, parent.progress.percent
    else:
        state, error, percent = JobState.SUCCESS, None, 100.0
        result = {"tables": counts_by_table, **totals.as_dict()}
    progress = JobProgress(totals.processed, parent.progress.rows_total, percent, counts_by_table)
    recorded = services.jobs.finish(parent_id, state, now(), progress=progress, result=result, error=error)
    if recorded:
        log.info("task %s: %s after its %d parts", parent_id, state.value, len(children))
    return bool(recorded)


def _table_counts(store: HiringStore, parent: BackgroundJob, split_table: str, parts: int) -> dict[str, TableCounts]:
    tables: dict[str, TableCounts] = {}
    for table in parent.params["sources"]:
        keys = [part_key(table, n) for n in range(parts)] if table == split_table else [table]
        total = TableCounts()
        for key in keys:
            checkpoint = store.load_checkpoint(parent.id, key)
            if checkpoint is not None:
                total.add(checkpoint.counts)
        tables[table] = total
    return tables
