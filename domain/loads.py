"""What loading rows into a table leaves behind: the counts, the checkpoint a load resumes from, the rows refused."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.rules import Reason, parse_id

T = TypeVar("T")

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


@dataclass(frozen=True)
class RecordWindow:
    """The records of a source to load: skip ``start`` records, then load at most ``limit`` (``None``: to the end).

    Records are counted from 0, after the header; blank lines are not records.
    """

    start: int = 0
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"start must be 0 or more, got {self.start}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be 1 or more, got {self.limit}")

    def as_dict(self) -> dict[str, int | None]:
        return {"start": self.start, "limit": self.limit}

    def select(self, records: Iterable[T], is_header: Callable[[T], bool] | None = None) -> Iterator[T]:
        """The records inside the window; a first record that ``is_header`` passes through, uncounted."""
        stop = None if self.limit is None else self.start + self.limit
        remaining = iter(records)
        if is_header is not None:
            for first in remaining:
                if is_header(first):
                    yield first
                else:
                    remaining = itertools.chain([first], remaining)
                break
        yield from itertools.islice(remaining, self.start, stop)


# How many batch summaries a job's result shows per table; the count says how many there were in all.
SHOWN_BATCHES = 100
BATCH_SUMMARY_FIELDS = ("processed", "inserted", "already_exists", "errors", "error_ids")


@dataclass(frozen=True)
class BatchSummary:
    """One committed batch, in the shape the original service answered: ``errors`` counts the rejected rows and
    ``error_ids`` lists their ids in file order (``None`` for a row whose id could not be read)."""

    processed: int
    inserted: int
    already_exists: int
    errors: int
    error_ids: tuple[int | None, ...] = ()

    @classmethod
    def of(cls, counts: TableCounts, rejected: Iterable[RejectedRow]) -> BatchSummary:
        in_order = sorted(rejected, key=lambda row: row.position)
        return cls(
            counts.processed,
            counts.inserted,
            counts.already_exists,
            counts.rejected,
            tuple(record_id(row.raw) for row in in_order),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "inserted": self.inserted,
            "already_exists": self.already_exists,
            "errors": self.errors,
            "error_ids": list(self.error_ids),
        }


def record_id(raw: str) -> int | None:
    """The id of a rejected CSV record from its raw text (its first field), or ``None`` when it holds none."""
    try:
        first = next(csv.reader(io.StringIO(raw)), [])
    except csv.Error:
        return None
    found = parse_id(first[0], "id") if first else None
    return found if isinstance(found, int) else None
