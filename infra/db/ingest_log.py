"""``SqlRejections``, ``SqlCheckpoints`` and ``SqlBatchSummaries``: what loads leave behind, in the unit of work's
transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, func, insert, select, text, update

from core.clock import utcnow
from core.ingest.ports import BatchSummaries, Checkpoints, Rejections
from domain.loads import COUNT_FIELDS, BatchSummary, Checkpoint, RejectedRow, TableCounts
from domain.rules import Reason
from infra.db.held_back import execute_later
from infra.db.postgres import column_list, uses_psycopg
from infra.db.prepared import prepared
from infra.db.schema import ingest_batches, ingest_checkpoints, rejected_rows
from infra.db.utc import to_column

# Each reason of each row the job refused, counted once a row, by table, code and field: one statement, where the
# summary of a large load read back every rejected row and its JSON (about 0.3 s for 20 000).
_REASON_COUNTS = {
    "sqlite": text(
        "SELECT r.table_name, json_extract(x.value, '$.code') AS code, NULLIF(json_extract(x.value, '$.field'), '')"
        f" AS field, COUNT(DISTINCT r.id) FROM {rejected_rows.name} AS r, json_each(r.reasons) AS x"  # nosec B608
        " WHERE r.job_id = :job_id GROUP BY r.table_name, code, field"
    ),
    "postgresql": text(
        "SELECT r.table_name, x ->> 'code' AS code, NULLIF(x ->> 'field', '') AS field, COUNT(DISTINCT r.id)"
        f" FROM {rejected_rows.name} AS r, json_array_elements(CAST(r.reasons AS json)) AS x"  # nosec B608
        " WHERE r.job_id = :job_id GROUP BY r.table_name, x ->> 'code', NULLIF(x ->> 'field', '')"
    ),
}
_checkpoint = ingest_checkpoints.c
_rejected = rejected_rows.c
_batch = ingest_batches.c

# PostgreSQL, through psycopg's cursor: a batch's rejections in one statement, its rows as one JSON array of
# arrays (the same text whatever the number of rows, so the server plans it once, and one parameter to bind
# instead of an array a column, which psycopg builds element by element in Python); its checkpoint in one upsert.
# The array is read as jsonb, parsed once: a ``->>`` of the json type parses its element again up to the value it
# takes, seven times a row. 1000 statements of 20 rejected rows cost the server 0.15-0.20 s against 0.34 s.
_REJECTED_COLUMNS = ("job_id", "batch", "table_name", "source", "line_number", "raw_record", "reasons", "created_at")
_REJECTED_TYPES = ("text", "int4", "text", "text", "int4", "text", "text")
POSTGRES_ADD_REJECTED = (
    # Table, column and type names are our own constants and every value is bound, hence the nosec.
    f"INSERT INTO {rejected_rows.name} ({', '.join(_REJECTED_COLUMNS)}) SELECT "  # nosec B608
    + ", ".join(f"(rejected->>{i})::{kind}" for i, kind in enumerate(_REJECTED_TYPES))
    + ", %s FROM jsonb_array_elements(%s::jsonb) AS rejected"
)
_CHECKPOINT_VALUES = [c.name for c in ingest_checkpoints.columns if c.name not in ("job_id", "table_name")]
# The batch that saves a checkpoint commits without waiting for its WAL to reach the disk
# (``synchronous_commit`` off for this transaction only). If the server crashes, it may lose the
# last few such commits, but always whole: rows, rejections, checkpoint and progress go together,
# and the job that runs again resumes from the checkpoint that survived, so no row is lost or stored
# twice. The job's end commits as usual, which writes all the WAL before it to disk. A batch POST has
# no checkpoint and keeps the wait: its 200 is never answered before its rows are on disk.
# At 200 000 rows, the wait for the disk was about 15 % of a load's time here.
POSTGRES_SAVE_CHECKPOINT = (
    f"INSERT INTO {ingest_checkpoints.name} ({column_list(ingest_checkpoints)}) "  # nosec B608: our names, bound values
    f"SELECT {', '.join(['%s'] * len(ingest_checkpoints.columns))} "
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS without_waiting_for_the_disk "
    "ON CONFLICT (job_id, table_name) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _CHECKPOINT_VALUES)
)

_SUMMARY_COUNTS = ("processed", "inserted", "already_exists", "errors")


def _add_batch_statement() -> Insert:
    """A batch's summary, numbered after the last one of its job and table, in one statement on every database."""
    job, table = bindparam("job_id", type_=_batch.job_id.type), bindparam("table_name", type_=_batch.table_name.type)
    counts = [bindparam(name, type_=_batch[name].type) for name in _SUMMARY_COUNTS]
    numbered = select(
        job,
        table,
        func.coalesce(func.max(_batch.batch), 0) + 1,
        *counts,
        bindparam("error_ids", type_=_batch.error_ids.type),
    ).where(_batch.job_id == job, _batch.table_name == table)
    columns = ["job_id", "table_name", "batch", *_SUMMARY_COUNTS, "error_ids"]
    return insert(ingest_batches).from_select(columns, numbered)


# The statements a load runs after every batch, compiled once (``infra/db/prepared.py``); PostgreSQL runs
# the rejections and checkpoint above instead, and holds the summary back as it holds them (``execute_later``).
_ADD_REJECTED = prepared(lambda: insert(rejected_rows).values({name: bindparam(name) for name in _REJECTED_COLUMNS}))
_UPDATE_CHECKPOINT = prepared(
    lambda: (
        update(ingest_checkpoints)
        .where(_checkpoint.job_id == bindparam("key_job_id"), _checkpoint.table_name == bindparam("key_table_name"))
        .values({name: bindparam(name) for name in _CHECKPOINT_VALUES})
    )
)
_INSERT_CHECKPOINT = prepared(
    lambda: insert(ingest_checkpoints).values({c.name: bindparam(c.name) for c in ingest_checkpoints.columns})
)
_ADD_BATCH = prepared(_add_batch_statement)


# ``json.dumps(..., ensure_ascii=False)`` makes an encoder at each call; the rejections' JSON texts take this one.
_json_text = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=4096)
def _reasons_text(reasons: tuple[Reason, ...]) -> str:
    """The JSON text of a rejected row's reasons. A load rejects its rows for a few reasons, over and over (a
    missing department, an unknown job): the text of each set is made once, 0.3 µs a row instead of 2.4 µs."""
    return _json_text([reason.as_dict() for reason in reasons])


class SqlRejections(Rejections):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, rows: Sequence[RejectedRow]) -> None:
        if not rows:
            return
        now = to_column(utcnow())
        values = [
            (
                r.job_id,
                r.batch,
                r.table,
                r.source[:400],
                r.position,
                r.raw,
                _reasons_text(tuple(r.reasons)),
            )
            for r in rows
        ]
        if uses_psycopg(self._conn.dialect):
            execute_later(self._conn, POSTGRES_ADD_REJECTED, [now, _json_text(values)])
            return
        _ADD_REJECTED(self._conn.dialect).run_many_shared(
            self._conn, {"created_at": now}, _REJECTED_COLUMNS[:-1], values
        )

    def page(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        query = select(rejected_rows).where(_rejected.job_id == job_id).order_by(_rejected.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [
            {
                "table": r["table_name"],
                "source": r["source"],
                "line": r["line_number"],
                "batch": r["batch"],
                "record": r["raw_record"],
                "reasons": json.loads(r["reasons"]),
            }
            for r in self._conn.execute(query).mappings()
        ]

    def reason_counts(self, job_id: str) -> list[tuple[str, str, str | None, int]] | None:
        statement = _REASON_COUNTS.get(self._conn.dialect.name)
        if statement is None:
            return None
        return [(t, c, f, int(n)) for t, c, f, n in self._conn.execute(statement, {"job_id": job_id})]


class SqlCheckpoints(Checkpoints):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, job_id: str, key: str) -> Checkpoint | None:
        query = select(ingest_checkpoints).where(_checkpoint.job_id == job_id, _checkpoint.table_name == key)
        row = self._conn.execute(query).mappings().first()
        if row is None:
            return None
        counts = TableCounts(**{name: row[name] for name in COUNT_FIELDS})
        return Checkpoint(row["position"], counts, bool(row["indexes_pending"]))

    def save(self, job_id: str, key: str, checkpoint: Checkpoint) -> None:
        values = {
            "position": checkpoint.position,
            "updated_at": to_column(utcnow()),
            "indexes_pending": checkpoint.indexes_pending,
            **checkpoint.counts.as_dict(),
        }
        if uses_psycopg(self._conn.dialect):
            row = {"job_id": job_id, "table_name": key, **values}
            execute_later(self._conn, POSTGRES_SAVE_CHECKPOINT, [row[c.name] for c in ingest_checkpoints.columns])
            return
        dialect = self._conn.dialect
        changed = _UPDATE_CHECKPOINT(dialect).run(self._conn, {"key_job_id": job_id, "key_table_name": key, **values})
        if not changed.rowcount:
            _INSERT_CHECKPOINT(dialect).run(self._conn, {"job_id": job_id, "table_name": key, **values})

    def total(self, job_id: str, keys: Sequence[str]) -> TableCounts:
        sums = select(*(func.coalesce(func.sum(_checkpoint[name]), 0) for name in COUNT_FIELDS)).where(
            _checkpoint.job_id == job_id, _checkpoint.table_name.in_(list(keys))
        )
        return TableCounts(*map(int, self._conn.execute(sums).one()))


class SqlBatchSummaries(BatchSummaries):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, job_id: str, key: str, summary: BatchSummary) -> None:
        statement = _ADD_BATCH(self._conn.dialect)
        values = {"job_id": job_id, "table_name": key, **summary.as_dict()}
        if uses_psycopg(self._conn.dialect):
            execute_later(self._conn, statement.sql, statement.parameters(values))
        else:
            statement.run(self._conn, values)

    def first(self, job_id: str, keys: Sequence[str], limit: int) -> tuple[list[BatchSummary], int]:
        found: list[BatchSummary] = []
        for key in keys:
            if len(found) >= limit:
                break
            query = (
                select(ingest_batches)
                .where(_batch.job_id == job_id, _batch.table_name == key)
                .order_by(_batch.batch)
                .limit(limit - len(found))
            )
            found.extend(_summary(row) for row in self._conn.execute(query).mappings())
        count = select(func.count()).where(_batch.job_id == job_id, _batch.table_name.in_(list(keys)))
        return found, int(self._conn.execute(count).scalar_one())


def _summary(row: Any) -> BatchSummary:
    return BatchSummary(
        row["processed"], row["inserted"], row["already_exists"], row["errors"], tuple(row["error_ids"])
    )
