"""What loading rows into a table leaves behind: the counts, the checkpoint a load resumes from, the rows refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.rules import Reason

# The counts of a load, in the order the API, the CLI and the ``ingest_checkpoints`` columns show them.
COUNT_FIELDS = ("processed", "inserted", "already_exists", "rejected")


@dataclass
class TableCounts:
    processed: int = 0
    inserted: int = 0
    already_exists: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNT_FIELDS}

    def add(self, other: TableCounts) -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def plus(self, other: TableCounts) -> TableCounts:
        total = TableCounts(**self.as_dict())
        total.add(other)
        return total


@dataclass
class Checkpoint:
    """How far a job got in one source: every record up to ``position`` is committed.

    ``indexes_pending``: the load runs in bulk mode, its table's secondary indexes (and, where the database
    allows, its foreign keys) dropped until it ends; whoever finds it set after a crash builds them.
    """

    position: int
    counts: TableCounts = field(default_factory=TableCounts)
    indexes_pending: bool = False


@dataclass
class RejectedRow:
    table: str
    source: str
    position: int
    raw: str
    reasons: list[Reason]
    job_id: str | None = None
    batch: int | None = None
