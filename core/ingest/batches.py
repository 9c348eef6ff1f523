"""The batch summaries a finished ingest job shows: per table, the first ones and how many there were."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.unit_of_work import UnitOfWork
from domain.loads import SHOWN_BATCHES


def batch_summaries(
    tx: UnitOfWork, job_id: str, keys: Mapping[str, Sequence[str]], shown: int = SHOWN_BATCHES
) -> dict[str, dict[str, Any]]:
    """``{table: {"total", "items"}}``: the first ``shown`` batches of each table, its loads' ``keys`` in order."""
    found = {}
    for table, table_keys in keys.items():
        items, total = tx.batches.first(job_id, table_keys, shown)
        found[table] = {"total": total, "items": [summary.as_dict() for summary in items]}
    return found
