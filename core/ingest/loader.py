"""The one loader: every row, from a CSV source (a whole blob or one byte range of it) or from a request,
goes through the same steps, in batches of 1000 rows.

Each record is validated against the data dictionary. Each batch then runs in one unit of work:
check references and duplicates, write the new rows, log the rejected ones, save the checkpoint and
report progress; all of it commits together or not at all. If another writer changed the same rows
in between (``WriteConflict``), the batch runs again in a new unit of work.
"""

from __future__ import annotations

import abc
import csv
import functools
import io
import json
import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from core.ingest.csv_source import ByteRange, CsvSource, Rows
from core.ingest.gc_tuning import fewer_collections
from core.ingest.parse_process import Prepare
from core.jobs.exclusion import BATCH, check_free, refuse_if_busy
from core.storage import BlobStorage
from core.unit_of_work import StorageForm, UnitOfWork, UnitOfWorkFactory, WriteConflict
from domain.background_jobs import Cancelled
from domain.entities import TABLES, TableSpec, conflict, table_spec, unknown_reference
from domain.errors import BatchTooLarge, EmptyBatch
from domain.loads import Checkpoint, RecordWindow, RejectedRow, TableCounts
from domain.rules import Reason

# One transaction per 1000 rows: large enough to amortise the commit, small enough
# that a crash loses little work and a poller sees progress move.
BATCH_SIZE = 1000
# Bulk mode: a load of at least this many rows, and at least 1/BULK_SHARE of the rows already stored,
# drops its table's secondary indexes for the load and builds them after (README, Performance).
BULK_MIN_ROWS = 50_000
BULK_SHARE = 4
# A source of at least this many bytes (about 45 000 employees) is parsed in a child process while this one
# writes (core/ingest/parse_process.py); below it, starting the child costs more than it saves.
PARSE_IN_CHILD_FROM_BYTES = 2 << 20
MAX_REQUEST_ROWS = 1000
MAX_RAW_CHARS = 2000
WRITE_RETRIES = 3

log = logging.getLogger("hireflow.ingest")

# (position, payload, entity): a record that passed validation, with what is needed to reject it later.
Valid = tuple[int, Any, Any]


class LoadReporter(abc.ABC):
    """Told how far a load got after each batch, inside the batch's unit of work; says when to stop."""

    @abc.abstractmethod
    def loaded(self, uow: UnitOfWork, table: str, counts: TableCounts, done: int, size: int | None) -> None:
        """``counts`` of ``table`` so far, with ``done`` of the source's ``size`` bytes read."""

    def batch_written(self, uow: UnitOfWork, table: str, batch: BatchResult) -> None:
        """One more batch of ``table`` is being committed in ``uow``: its own counts and rejected rows."""
        return None

    def should_stop(self) -> bool:
        """Checked between two batches, once the last one committed."""
        return False


@dataclass
class BatchResult:
    counts: TableCounts
    rejected: list[RejectedRow]
    already_exists: list[int]


def ingest_blob(
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    table: str,
    blob_name: str,
    *,
    part: ByteRange | None = None,
    job_id: str | None = None,
    checkpoint_key: str | None = None,
    reporter: LoadReporter | None = None,
    batch_size: int = BATCH_SIZE,
    window: RecordWindow | None = None,
) -> TableCounts:
    """Stream one CSV blob, or the byte range ``part`` of it, into ``table``; resume from the job's checkpoint.

    The checkpoint is kept under ``checkpoint_key`` (default: the table). Line numbers are those of the
    whole file; only the range that starts the file may hold a header. With a ``window``, only those records
    of the whole blob are loaded.
    """
    spec = table_spec(table)
    key = checkpoint_key or table
    checkpoint = None
    with uow() as tx:
        if job_id:
            checkpoint = tx.checkpoints.get(job_id, key)
        form = tx.rows.storage_form(table)
    parse_line, plain = _fast_parser(spec, form)
    with (
        fewer_collections(),
        CsvSource(
            storage,
            blob_name,
            part,
            parse_line,
            child_from_bytes=PARSE_IN_CHILD_FROM_BYTES,
            prepare=_in_child(spec, form, runs=window is None),
            # Runs of canonical lines come as one ``Rows`` record each, where they are rows in the database's form
            # already and the load counts no window of records.
            runs=plain and window is None,
        ) as source,
    ):

        def batch_done(tx: UnitOfWork, counts: TableCounts, batch: BatchResult | None) -> None:
            if reporter is not None:
                if batch is not None:
                    reporter.batch_written(tx, table, batch)
                reporter.loaded(tx, table, counts, source.bytes_read, source.size)

        records: Iterable[tuple[int, Any]] = source.records
        if window is not None:
            records = window.select(records, spec.is_header_record if source.may_start_with_a_header else None)
        load = _Load(uow, spec, blob_name, job_id, key, checkpoint, batch_size, batch_done if reporter else None)
        load.write_in(form, rows_encoded=source.in_child or plain)
        expected = source.estimated_records()
        if window is not None and expected is not None:
            expected = max(0, expected - window.start)
            if window.limit is not None:
                expected = min(expected, window.limit)
        load.whole_load(expected)
        return load.run(records, skip_header=source.may_start_with_a_header, reporter=reporter)


def _fast_parser(spec: TableSpec, form: StorageForm) -> tuple[Callable[[str], Any], bool]:
    """The parser of canonical lines, and whether it gives rows in the database's ``form`` (plain tuples) rather than
    entities: it does wherever the form needs no conversion or converts only datetimes, which it takes from their
    text or from the datetime the parser makes to check them."""
    if form.encode is None:
        return spec.plain_line_parser(), True
    if form.datetime_text is not None:
        return spec.plain_line_parser(form.datetime_text), True
    if form.datetime_value is not None:
        return spec.plain_line_parser(of_datetime=form.datetime_value), True
    return spec.parse_line, False


def bulk_mode(incoming: int, stored: int) -> bool:
    """Whether a load of about ``incoming`` rows into a table of ``stored`` rows builds the secondary indexes after
    the load rather than during it: building them costs time in proportion to the whole table, keeping them
    costs time in proportion to the rows loaded, much more per row (README, Performance, has the measurement)."""
    return incoming >= max(BULK_MIN_ROWS, stored // BULK_SHARE)


def ingest_sources(
    uow: UnitOfWorkFactory,
    storage: BlobStorage,
    sources: dict[str, str],
    *,
    job_id: str | None = None,
    reporter: LoadReporter | None = None,
) -> dict[str, TableCounts]:
    """Load several tables, each from its blob, parents before children."""
    return {
        table: ingest_blob(uow, storage, table, sources[table], job_id=job_id, reporter=reporter)
        for table in TABLES
        if table in sources
    }


def insert_records(
    uow: UnitOfWorkFactory,
    table: str,
    records: Sequence[tuple[int, Any]],
    *,
    source: str = "api",
    job_id: str | None = None,
    skip_header: bool = False,
    before_write: Callable[[UnitOfWork], None] | None = None,
) -> BatchResult:
    """Insert 1 to 1000 numbered records ``(position, JSON object or list of CSV fields)`` synchronously.

    ``before_write``, if given, runs first in the unit of work that writes them, and may refuse the batch.
    """
    spec = table_spec(table)
    records = _request_rows(spec, records, skip_header)
    load = _Load(uow, spec, source, job_id, spec.name, None, MAX_REQUEST_ROWS, keep_details=True)
    load.before_write = before_write
    counts = load.run(records, skip_header=False)
    return BatchResult(counts, load.rejected_rows, load.existing_ids)


def insert_batch(
    uow: UnitOfWorkFactory, table: str, records: Sequence[tuple[int, Any]], *, source: str, skip_header: bool
) -> BatchResult:
    """A batch sent to the API: refused with ``TableBusy`` while a restore of ``table`` is pending or running,
    else inserted as ``insert_records`` does.

    The check is the first statement of the unit of work that writes the rows, not a transaction of its own.
    A batch of no rows or too many is refused for the restore first, as it always was.
    """
    try:
        rows = _request_rows(table_spec(table), records, skip_header)
    except (EmptyBatch, BatchTooLarge):
        check_free(uow, BATCH, [table])
        raise
    refuse = functools.partial(refuse_if_busy, kind=BATCH, tables=[table])
    return insert_records(uow, table, rows, source=source, before_write=refuse)


def _request_rows(spec: TableSpec, records: Sequence[tuple[int, Any]], skip_header: bool) -> Sequence[tuple[int, Any]]:
    """The records of a request without its CSV header line, refused if there are none or too many."""
    if skip_header and records and type(records[0][1]) is list and spec.is_header(records[0][1]):
        records = records[1:]
    if not records:
        raise EmptyBatch("the request holds no rows; send 1 to 1000")
    if len(records) > MAX_REQUEST_ROWS:
        raise BatchTooLarge(
            f"the request holds {len(records)} rows; at most {MAX_REQUEST_ROWS} are accepted",
            {"rows": len(records), "limit": MAX_REQUEST_ROWS},
        )
    return records


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


@functools.cache
def _object_validator(spec: TableSpec) -> Callable[[dict[str, Any]], Any]:
    """``spec.validate_mapping`` for a JSON object: one with exactly the columns' keys, in any order, has its
    values taken in column order in one step and validated as a CSV row's are; ``validate_mapping`` gives the
    same answer for it and decides every other object."""
    columns = frozenset(spec.column_names)
    values_of = operator.itemgetter(*spec.column_names)
    validate, validate_mapping = spec.validate, spec.validate_mapping

    def validate_object(record: dict[str, Any]) -> Any:
        if record.keys() == columns:
            return validate(values_of(record))
        return validate_mapping(record)

    return validate_object


class Refused(NamedTuple):
    """A record the rules refuse, as the parse child sends it: its raw text for the log, and why."""

    raw: str
    reasons: list[Reason]


def _in_child(spec: TableSpec, form: StorageForm, *, runs: bool) -> Prepare:
    """What the parse child does to each chunk of records beside the writes: a valid canonical line goes as its row in
    the database's ``form`` (a plain tuple: the parser gives it so, or the child encodes the entity the parser
    gave), a record the rules refuse as a ``Refused``. A header line, and a valid line that is not in the canonical
    form (its raw text must stay that of the file), go to the load as they are.

    With ``runs``, the rows of consecutive valid canonical lines go as one ``Rows`` record under the first one's
    line; without, each row is a record of its own (a load of a record window counts records one by one).
    """
    entity, encode, validate, is_header = spec.entity, form.encode or tuple, spec.validate, spec.is_header

    def prepare(chunk: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        run: Rows | None = None
        next_line = 0
        for line, payload in chunk:
            kind = type(payload)
            if kind is Rows:  # a run the reader made already
                run = None
                out.append((line, payload))
                continue
            if kind is tuple or kind is entity:  # a row in the database's form, or an entity to put in it
                row = payload if kind is tuple else encode(payload)
                if not runs:
                    out.append((line, row))
                elif run is not None and line == next_line:
                    run.append(row)
                    next_line += 1
                else:
                    run = Rows((row,))
                    next_line = line + 1
                    out.append((line, run))
                continue
            run = None
            if kind is list and not is_header(payload):
                result = validate(payload)
                if type(result) is list:
                    payload = Refused(raw_text(payload), result)
            out.append((line, payload))
        return out

    return prepare


# The row of a ``Valid`` record, and the id of a row.
_ROW = operator.itemgetter(2)
_ID = operator.itemgetter(0)


class _Never:
    """The type of no record: a load whose canonical lines do not arrive as rows in the database's form (a request's
    records, or a parser that gives entities) takes no plain tuple as a row."""


class _Load:
    """One load of numbered records into one table: validation as they come, then one unit of work per batch."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        spec: TableSpec,
        source: str,
        job_id: str | None,
        checkpoint_key: str,
        checkpoint: Checkpoint | None,
        batch_size: int,
        batch_done: Callable[[UnitOfWork, TableCounts, BatchResult | None], None] | None = None,
        keep_details: bool = False,
    ) -> None:
        self.uow = uow
        self.spec = spec
        self.source = source
        self.job_id = job_id
        self.checkpoint_key = checkpoint_key
        self.resume_after = checkpoint.position if checkpoint else 0
        self.counts = checkpoint.counts if checkpoint else TableCounts()
        self.batch_size = batch_size
        self.batch_done = batch_done
        self.batch_number = 0
        self.known_refs: dict[str, set[int]] = {c.references: set() for _, c in spec.references if c.references}
        self.keep_details = keep_details
        self.rejected_rows: list[RejectedRow] = []
        self.existing_ids: list[int] = []
        self.position = self.resume_after
        self.indexes_pending = checkpoint.indexes_pending if checkpoint else False
        # In bulk mode the table is small against the load, so its batches skip the look-up of their ids
        # among the stored rows and let the primary key refuse a stored one; the first refusal ends that.
        self.trust_primary_key = True
        # Set by ``whole_load``: about how many records the source holds, until the first batch decides on bulk mode.
        self.expected_rows: int | None = None
        self.finishes_load = False
        self.before_write: Callable[[UnitOfWork], None] | None = None
        self.encode: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
        self.decode: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
        self.stored_kind: type = _Never

    def write_in(self, form: StorageForm, *, rows_encoded: bool) -> None:
        """Write the rows in the database's ``form``: each valid row is encoded once, as it is validated.
        ``rows_encoded``: a valid canonical line arrives as its row in that form already (a plain tuple), from the
        parser or from a parse child."""
        self.encode, self.decode = form.encode, form.decode
        self.stored_kind = tuple if rows_encoded else _Never

    def whole_load(self, expected_rows: int | None) -> None:
        """This load is a whole source: it ends with the table's statistics refreshed, and, with a job to record
        it in a checkpoint, it may run in bulk mode (decided with its first batch, from ``expected_rows``)."""
        self.finishes_load = True
        if self.job_id and self.resume_after == 0 and not self.indexes_pending:
            self.expected_rows = expected_rows

    def run(
        self, records: Iterable[tuple[int, Any]], *, skip_header: bool, reporter: LoadReporter | None = None
    ) -> TableCounts:
        try:
            return self._run(records, skip_header, reporter)
        except BaseException:
            if self.indexes_pending:
                self._build_after_failure()
            raise

    def _run(self, records: Iterable[tuple[int, Any]], skip_header: bool, reporter: LoadReporter | None) -> TableCounts:
        entity = self.spec.entity
        validate = self.spec.validate
        validate_mapping = self.spec.validate_mapping
        validate_object = _object_validator(self.spec)
        encode, stored_kind = self.encode, self.stored_kind
        resume_after = self.resume_after
        batch_size = self.batch_size
        valid: list[Valid] = []
        rejected: list[RejectedRow] = []
        in_batch = 0
        last_position = 0
        first = True
        for position, payload in records:
            if first:
                first = False
                if skip_header and type(payload) is list and self.spec.is_header(payload):
                    continue
            kind = type(payload)
            if kind is Rows:  # valid rows of consecutive lines, from ``position`` on
                if position <= resume_after:
                    payload = payload[resume_after + 1 - position :]
                    position = resume_after + 1
                while payload:
                    room = batch_size - in_batch
                    taken = payload[:room]
                    end = position + len(taken)
                    valid.extend(zip(range(position, end), taken, taken, strict=True))
                    in_batch += len(taken)
                    last_position, position, payload = end - 1, end, payload[room:]
                    if in_batch >= batch_size:
                        self._batch_full(valid, rejected, last_position, reporter)
                        valid, rejected, in_batch = [], [], 0
                continue
            if position <= resume_after:
                continue
            if kind is entity or kind is stored_kind:
                result = payload
            elif kind is Refused:
                result = payload.reasons
            elif kind is list:
                result = validate(payload)
            elif kind is dict:
                result = validate_object(payload)
            elif kind is Reason:
                result = [payload]
            else:
                result = validate_mapping(payload)
            if type(result) is list:
                rejected.append(self._reject(position, payload, result))
            else:
                valid.append((position, payload, result if encode is None or kind is stored_kind else encode(result)))
            last_position = position
            in_batch += 1
            if in_batch >= batch_size:
                self._batch_full(valid, rejected, last_position, reporter)
                valid, rejected, in_batch = [], [], 0
        if valid or rejected:
            self._commit_batch(valid, rejected, last_position, last=True)
        elif self.batch_done is not None or self.finishes_load:
            # The source ended on a batch boundary, or held nothing new: say once that it was read to its end.
            with self.uow() as tx:
                self._finish(tx)
                if self.batch_done is not None:
                    self.batch_done(tx, self.counts, None)
                tx.commit()
            self.indexes_pending = False
        return self.counts

    def _batch_full(
        self, valid: list[Valid], rejected: list[RejectedRow], last_position: int, reporter: LoadReporter | None
    ) -> None:
        self._commit_batch(valid, rejected, last_position)
        if reporter is not None and reporter.should_stop():
            raise Cancelled()

    def _finish(self, tx: UnitOfWork, *, checkpoint: bool = True) -> None:
        """The end of a whole load, in its last unit of work: the indexes a bulk load dropped, fresh statistics."""
        if not self.finishes_load:
            return
        name = self.spec.name
        if self.indexes_pending:
            tx.rows.build_secondary(name)
            if self.job_id and checkpoint:
                tx.checkpoints.save(self.job_id, self.checkpoint_key, Checkpoint(self.position, self.counts))
        tx.rows.analyze(name)

    def _build_after_failure(self) -> None:
        """A bulk load that stops on an error or a cancellation builds its indexes before it gives up; if even that
        fails, the checkpoint still says they are pending, for the resumed job or the next process start.

        The checkpoint is left as it is: the job may have gone on in another worker, which owns it now (a resumed
        load that finds it pending builds what is missing at its end, which is then nothing).
        """
        try:
            with self.uow() as tx:
                self._finish(tx, checkpoint=False)
                tx.commit()
            self.indexes_pending = False
        except Exception:
            log.exception("the indexes of %s could not be built after the load stopped", self.spec.name)

    def _reject(self, position: int, payload: Any, reasons: list[Reason]) -> RejectedRow:
        kind = type(payload)
        if kind is self.stored_kind:
            raw = self.spec.line_of(payload if self.decode is None else self.decode(payload))
        elif kind is Refused:
            raw = payload.raw
        elif kind is self.spec.entity:
            raw = self.spec.line_of(payload)
        else:
            raw = raw_text(payload)
        return RejectedRow(self.spec.name, self.source, position, raw, reasons, self.job_id)

    def _commit_batch(
        self, valid: list[Valid], rejected: list[RejectedRow], last_position: int, *, last: bool = False
    ) -> None:
        """Write one batch, its rejections, its checkpoint and its progress in one unit of work; again on a conflict.

        The first batch of a large load also drops the table's secondary indexes (bulk mode), and the last one
        builds them again: the checkpoint that commits with each says whether they are pending.
        """
        self.batch_number += 1
        attempt = 0
        while True:
            trusted = False
            try:
                with self.uow() as tx:
                    if self.indexes_pending and self.known_refs and tx.rows.references_checked_here():
                        # Bulk mode, where the database skips its own checks of each row's references for this unit
                        # of work (SQLite's foreign keys): every reference is looked up again in it.
                        self._forget_references()
                    if self.before_write is not None:
                        self.before_write(tx)
                    pending = self.indexes_pending or self._enter_bulk_mode(tx)
                    trusted = pending and self.trust_primary_key
                    batch, fresh = self._write(tx, valid, list(rejected), look_up_stored=not trusted)
                    counts = self.counts.plus(batch.counts)
                    finish = last and self.finishes_load
                    if self.job_id:
                        checkpoint = Checkpoint(last_position, counts, pending and not finish)
                        tx.checkpoints.save(self.job_id, self.checkpoint_key, checkpoint)
                    if self.batch_done is not None:
                        self.batch_done(tx, counts, batch)
                    # The rows last: on PostgreSQL the statements before them go in one round trip with the
                    # transaction's start, and a worker that lost the job learns it before it writes them.
                    self._insert(tx, fresh)
                    if finish:
                        if pending:
                            tx.rows.build_secondary(self.spec.name)
                            pending = False
                        tx.rows.analyze(self.spec.name)
                    tx.commit()
                break
            except WriteConflict:
                if trusted:
                    # An id already stored: look the ids up from now on, this batch first (not a retry).
                    self.trust_primary_key = False
                    continue
                attempt += 1
                if attempt == WRITE_RETRIES:
                    raise
                self._forget_references()
        self.counts = counts
        self.position = last_position
        self.indexes_pending = pending
        self.expected_rows = None
        # One line per rejected row at DEBUG only: a large load can reject thousands, and the job's summary
        # line and ``rejected_rows`` already say how many and why.
        if log.isEnabledFor(logging.DEBUG):
            for row in batch.rejected:
                log.debug(
                    "rejected %s row %s from %s: %s",
                    row.table,
                    row.position,
                    row.source,
                    "; ".join(r.message for r in row.reasons),
                    extra={"job_id": self.job_id, "table": row.table, "reasons": [r.code for r in row.reasons]},
                )
        if self.keep_details:
            self.rejected_rows.extend(batch.rejected)
            self.existing_ids.extend(batch.already_exists)

    def _forget_references(self) -> None:
        """Look every reference up again from the next batch on, in that batch's unit of work."""
        for ids in self.known_refs.values():
            ids.clear()

    def _enter_bulk_mode(self, tx: UnitOfWork) -> bool:
        """With the first batch of a whole load: whether it is large against its table, and if so the drop."""
        if self.expected_rows is None or not bulk_mode(self.expected_rows, tx.rows.count(self.spec.name)):
            return False
        log.info(
            "bulk mode: %s built after the load of about %s rows",
            self.spec.name,
            self.expected_rows,
            extra={"job_id": self.job_id},
        )
        tx.rows.drop_secondary(self.spec.name)
        return True

    def _insert(self, tx: UnitOfWork, fresh: list[tuple[Any, ...]]) -> None:
        if fresh and self.encode is None:
            tx.rows.insert(self.spec.name, fresh)
        elif fresh:
            tx.rows.insert_stored_form(self.spec.name, fresh)

    def _write(
        self, tx: UnitOfWork, valid: list[Valid], rejected: list[RejectedRow], *, look_up_stored: bool = True
    ) -> tuple[BatchResult, list[tuple[Any, ...]]]:
        """The batch step: references, duplicates (in the batch, then stored), the rejections; and the new rows,
        which the caller inserts in the same unit of work.

        Without ``look_up_stored``, every id new to the batch is taken as new to the table: a stored one makes
        the insert fail with ``WriteConflict`` on the primary key, so no row is ever overwritten.
        """
        name = self.spec.name
        candidates, rows = self._check_references(tx, valid, rejected)
        already: list[int] = []
        ids = list(map(_ID, rows))
        if len(set(ids)) != len(ids):  # an id twice in the batch: the first of each id goes on
            unique: dict[int, Valid] = {}
            for item in candidates:
                row = item[2]
                seen = unique.get(row[0])
                if seen is None:
                    unique[row[0]] = item
                elif seen[2] == row:
                    already.append(row[0])
                else:
                    rejected.append(self._reject(item[0], item[1], [conflict(name, row[0])]))
            ids, candidates = list(unique), list(unique.values())
            rows = list(map(_ROW, candidates))
        stored = tx.rows.existing(name, ids) if ids and look_up_stored else {}
        if not stored:  # none of them stored yet, the common case of a load
            fresh = rows
        else:
            fresh = []
            encode = self.encode or tuple
            for row_id, item in zip(ids, candidates, strict=True):
                old = stored.get(row_id)
                if old is None:
                    fresh.append(item[2])
                elif encode(old) == tuple(item[2]):
                    already.append(row_id)
                else:
                    rejected.append(self._reject(item[0], item[1], [conflict(name, row_id)]))
        for row in rejected:
            row.batch = self.batch_number
        if rejected:
            tx.rejections.add(rejected)
        counts = TableCounts(
            processed=len(fresh) + len(already) + len(rejected),
            inserted=len(fresh),
            already_exists=len(already),
            rejected=len(rejected),
        )
        return BatchResult(counts, rejected, already), fresh

    def _check_references(
        self, tx: UnitOfWork, valid: list[Valid], rejected: list[RejectedRow]
    ) -> tuple[list[Valid], list[tuple[Any, ...]]]:
        """The records whose references are all stored, and their rows; the others refused into ``rejected``."""
        rows = list(map(_ROW, valid))
        if not self.spec.references:
            return valid, rows
        missing: dict[str, set[int]] = {}
        for index, column in self.spec.references:
            target = column.references or ""
            known = self.known_refs[target]
            wanted = set(map(operator.itemgetter(index), rows)) - known
            if wanted:
                found = tx.rows.existing_ids(target, wanted)
                known.update(found)
                missing[target] = wanted - found
        if not any(missing.values()):
            return valid, rows
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
        return kept, list(map(_ROW, kept))
