"""Checks on the batch summaries of an ingest job's result (``result["batches"]``)."""

from __future__ import annotations

from typing import Any

SUMMED = {"processed": "processed", "inserted": "inserted", "already_exists": "already_exists", "errors": "rejected"}


def counts_only(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its batch summaries: what a load split across workers has the same as a load in one."""
    return {key: value for key, value in result.items() if key != "batches"}


def error_ids(result: dict[str, Any], table: str) -> list[int | None]:
    return [row_id for batch in result["batches"][table]["items"] for row_id in batch["error_ids"]]


def assert_batches_add_up(result: dict[str, Any]) -> None:
    """Every table's batches, all shown, add up to its counts; each lists as many ids as it counts errors."""
    assert set(result["batches"]) == set(result["tables"])
    for table, counts in result["tables"].items():
        batches = result["batches"][table]
        assert batches["total"] == len(batches["items"]), table
        summed = {ours: sum(batch[theirs] for batch in batches["items"]) for theirs, ours in SUMMED.items()}
        assert summed == counts, table
        assert all(len(batch["error_ids"]) == batch["errors"] for batch in batches["items"]), table
        assert all(0 < batch["processed"] <= 1000 for batch in batches["items"]), table
