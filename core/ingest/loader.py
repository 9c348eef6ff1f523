"""Use cases that put rows into the hiring tables: from a CSV blob, or from a batch of records.

Every row, whatever its source, goes through the same path: domain validation,
reference checks, duplicate checks, then a bulk insert in batches of 1000 rows,
one transaction per batch, with its rejections and the job's checkpoint.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.ingest.csv_source import ByteRange, CsvSource
from core.ports import BatchTransaction, HiringStore, WriteConflict
from core.storage import BlobStorage
from domain.background_jobs import Cancelled
from domain.entities import TABLES, TableSpec, conflict, table_spec, unknown_reference
from domain.errors import BatchTooLarge, EmptyBatch
from domain.loads import Checkpoint, RejectedRow, TableCounts
from domain.rules import Reason

# One transaction per 1000 rows: large enough to amortise the commit, small enough
# that a crash loses little work and a poller sees progress move.
BATCH_SIZE = 1000
MAX_REQUEST_ROWS = 1000
MAX_RAW_CHARS = 2000
WRITE_RETRIES = 3

log = logging.getLogger("hireflow.ingest")

ProgressCallback = Callable[[str, TableCounts, int, int | None], None]


@dataclass
class BatchResult:
    counts: TableCounts
    rejected: list[RejectedRow]
    already_exists: list[int]


def ingest_blob(
    store: HiringStore,
    storage: BlobStorage,
    table: str,
    blob_name: str,
    *,
    part: ByteRange | None = None,
    job_id: str | None = None,
    checkpoint_key: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int = BATCH_SIZE,
) -> TableCounts:
    """Stream one CSV blob, or one byte range of it, into ``table``; resumes from the job's checkpoint if it has one.

    The checkpoint is kept under ``checkpoint_key`` (default: the table). Line numbers are those of the
    whole file; only the range that starts the file may hold a header.
    """
    spec = table_spec(table)
    key = checkpoint_key or table
    checkpoint = store.load_checkpoint(job_id, key) if job_id else None
    with CsvSource(storage, blob_name, part) as source:
        loader = _Loader(store, spec, blob_name, job_id, checkpoint, batch_size, checkpoint_key=key)

        def progress(counts: TableCounts) -> None:
            if on_progress:
                on_progress(table, counts, source.bytes_read, source.size)

        return loader.run(source.records, progress, should_stop, skip_header=source.may_start_with_a_header)


def ingest_sources(
    store: HiringStore,
    storage: BlobStorage,
    sources: dict[str, str],
    **options: Any,
) -> dict[str, TableCounts]:
    """Load several tables, each from its blob, parents before children."""
    results: dict[str, TableCounts] = {}
    for table in TABLES:
        if table in sources:
            results[table] = ingest_blob(store, storage, table, sources[table], **options)
    return results


def insert_records(
    store: HiringStore,
    table: str,
    records: Sequence[tuple[int, Any]],
    *,
    source: str = "api",
    job_id: str | None = None,
    skip_header: bool = False,
) -> BatchResult:
    """Insert 1 to 1000 numbered records ``(position, JSON object or list of CSV fields)`` synchronously."""
    spec = table_spec(table)
    if skip_header and records and type(records[0][1]) is list and spec.is_header(records[0][1]):
        records = records[1:]
    if not records:
        raise EmptyBatch("the request holds no rows; send 1 to 1000")
    if len(records) > MAX_REQUEST_ROWS:
        raise BatchTooLarge(
            f"the request holds {len(records)} rows; at most {MAX_REQUEST_ROWS} are accepted",
            {"rows": len(records), "limit": MAX_REQUEST_ROWS},
        )
    loader = _Loader(store, spec, source, job_id, None, MAX_REQUEST_ROWS, keep_details=True)
    counts = loader.run(records, lambda _c: None, None, skip_header=False)
    return BatchResult(counts, loader.rejected_rows, loader.existing_ids)


def raw_text(payload: Any) -> str:
    """The record as it arrived, for the rejection log; long values are cut."""
    if isinstance(payload, list):
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(payload)
        text = out.getvalue()
    else:
        try:
            text = json.dumps(payload, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(payload)
    # PostgreSQL text cannot hold NUL; the log keeps it visible as an escape instead.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…[truncated]"


class _Loader:
    def __init__(
        self,
        store: HiringStore,
        spec: TableSpec,
        source: str,
        job_id: str | None,
        checkpoint: Checkpoint | None,
        batch_size: int,
        keep_details: bool = False,
        checkpoint_key: str | None = None,
    ) -> None:
        self.store = store
        self.spec = spec
        self.source = source
        self.job_id = job_id
        self.batch_size = batch_size
        self.resume_after = checkpoint.position if checkpoint else 0
        self.counts = checkpoint.counts if checkpoint else TableCounts()
        self.batch_number = 0
        self.known_refs: dict[str, set[int]] = {c.references: set() for _, c in spec.references if c.references}
        self.keep_details = keep_details
        self.rejected_rows: list[RejectedRow] = []
        self.existing_ids: list[int] = []
        self.checkpoint_key = checkpoint_key or spec.name

    def run(
        self,
        records: Iterable[tuple[int, Any]],
        progress: Callable[[TableCounts], None],
        should_stop: Callable[[], bool] | None,
        skip_header: bool,
    ) -> TableCounts:
        validate = self.spec.validate
        validate_mapping = self.spec.validate_mapping
        resume_after = self.resume_after
        batch_size = self.batch_size
        valid: list[tuple[int, Any, Any]] = []
        rejected: list[RejectedRow] = []
        in_batch = 0
        last_position = 0
        first = True
        for position, payload in records:
            if first:
                first = False
                if skip_header and type(payload) is list and self.spec.is_header(payload):
                    continue
            if position <= resume_after:
                continue
            if type(payload) is list:
                result = validate(payload)
            elif type(payload) is Reason:
                result = [payload]
            else:
                result = validate_mapping(payload)
            if type(result) is list:
                rejected.append(self._reject(position, payload, result))
            else:
                valid.append((position, payload, result))
            last_position = position
            in_batch += 1
            if in_batch >= batch_size:
                self._flush(valid, rejected, last_position)
                valid, rejected, in_batch = [], [], 0
                progress(self.counts)
                if should_stop and should_stop():
                    raise Cancelled()
        if valid or rejected:
            self._flush(valid, rejected, last_position)
        progress(self.counts)
        return self.counts

    def _reject(self, position: int, payload: Any, reasons: list[Reason]) -> RejectedRow:
        return RejectedRow(self.spec.name, self.source, position, raw_text(payload), reasons, self.job_id)

    def _flush(self, valid: list[tuple[int, Any, Any]], rejected: list[RejectedRow], last_position: int) -> None:
        self.batch_number += 1
        for attempt in range(WRITE_RETRIES):
            try:
                with self.store.transaction() as tx:
                    batch = self._write(tx, valid, list(rejected), last_position)
                    tx.commit()
                break
            except WriteConflict:
                if attempt == WRITE_RETRIES - 1:
                    raise
                for ids in self.known_refs.values():
                    ids.clear()
        self.counts.add(batch.counts)
        for row in batch.rejected:
            log.info(
                "rejected %s row %s from %s: %s",
                row.table,
                row.position,
                row.source,
                "; ".join(r.message for r in row.reasons),
                extra={"job_id": self.job_id, "reasons": [r.code for r in row.reasons]},
            )
        if self.keep_details:
            self.rejected_rows.extend(batch.rejected)
            self.existing_ids.extend(batch.already_exists)

    def _write(
        self,
        tx: BatchTransaction,
        valid: list[tuple[int, Any, Any]],
        rejected: list[RejectedRow],
        last_position: int,
    ) -> BatchResult:
        name = self.spec.name
        candidates = self._check_references(tx, valid, rejected)
        unique: dict[int, tuple[int, Any, Any]] = {}
        already: list[int] = []
        for item in candidates:
            row = item[2]
            seen = unique.get(row[0])
            if seen is None:
                unique[row[0]] = item
            elif seen[2] == row:
                already.append(row[0])
            else:
                rejected.append(self._reject(item[0], item[1], [conflict(name, row[0])]))
        stored = tx.existing(name, list(unique)) if unique else {}
        fresh = []
        for row_id, item in unique.items():
            old = stored.get(row_id)
            if old is None:
                fresh.append(item[2])
            elif tuple(old) == tuple(item[2]):
                already.append(row_id)
            else:
                rejected.append(self._reject(item[0], item[1], [conflict(name, row_id)]))
        if fresh:
            tx.insert(name, fresh)
        for row in rejected:
            row.batch = self.batch_number
        if rejected:
            tx.log_rejections(rejected)
        counts = TableCounts(
            processed=len(fresh) + len(already) + len(rejected),
            inserted=len(fresh),
            already_exists=len(already),
            rejected=len(rejected),
        )
        if self.job_id:
            total = TableCounts(**self.counts.as_dict())
            total.add(counts)
            tx.save_checkpoint(self.job_id, self.checkpoint_key, Checkpoint(last_position, total))
        return BatchResult(counts, rejected, already)

    def _check_references(
        self, tx: BatchTransaction, valid: list[tuple[int, Any, Any]], rejected: list[RejectedRow]
    ) -> list[tuple[int, Any, Any]]:
        if not self.spec.references:
            return valid
        missing: dict[str, set[int]] = {}
        for index, column in self.spec.references:
            target = column.references or ""
            known = self.known_refs[target]
            wanted = {item[2][index] for item in valid} - known
            if wanted:
                found = tx.existing_ids(target, wanted)
                known.update(found)
                missing[target] = wanted - found
        if not any(missing.values()):
            return valid
        kept = []
        for item in valid:
            reasons = [
                unknown_reference(column, item[2][index])
                for index, column in self.spec.references
                if item[2][index] in missing.get(column.references or "", ())
            ]
            if reasons:
                rejected.append(self._reject(item[0], item[1], reasons))
            else:
                kept.append(item)
        return kept
