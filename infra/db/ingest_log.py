"""``SqlRejections`` and ``SqlCheckpoints``: what loads leave behind, in the unit of work's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from core.clock import utcnow
from core.ingest.ports import Checkpoints, Rejections
from domain.loads import COUNT_FIELDS, Checkpoint, RejectedRow, TableCounts
from infra.db.schema import ingest_checkpoints, rejected_rows
from infra.db.utc import to_column

_checkpoint = ingest_checkpoints.c
_rejected = rejected_rows.c


class SqlRejections(Rejections):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, rows: Sequence[RejectedRow]) -> None:
        now = to_column(utcnow())
        self._conn.execute(
            insert(rejected_rows),
            [
                {
                    "job_id": r.job_id,
                    "batch": r.batch,
                    "table_name": r.table,
                    "source": r.source[:400],
                    "line_number": r.position,
                    "raw_record": r.raw,
                    "reasons": json.dumps([reason.as_dict() for reason in r.reasons], ensure_ascii=False),
                    "created_at": now,
                }
                for r in rows
            ],
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
        changed = self._conn.execute(
            update(ingest_checkpoints)
            .where(_checkpoint.job_id == job_id, _checkpoint.table_name == key)
            .values(**values)
        ).rowcount
        if not changed:
            self._conn.execute(insert(ingest_checkpoints).values(job_id=job_id, table_name=key, **values))

    def total(self, job_id: str, keys: Sequence[str]) -> TableCounts:
        sums = select(*(func.coalesce(func.sum(_checkpoint[name]), 0) for name in COUNT_FIELDS)).where(
            _checkpoint.job_id == job_id, _checkpoint.table_name.in_(list(keys))
        )
        return TableCounts(*map(int, self._conn.execute(sums).one()))
