"""What a load needs from the database besides the hiring rows: the log of rejected rows, the checkpoints and the
summary of each batch."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from domain.loads import BatchSummary, Checkpoint, RejectedRow, TableCounts


class Rejections(abc.ABC):
    """The rows loads refused, with their reasons, in the unit of work's transaction."""

    @abc.abstractmethod
    def add(self, rows: Sequence[RejectedRow]) -> None: ...

    @abc.abstractmethod
    def page(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The rows a job refused, oldest first: ``{"table", "source", "line", "batch", "record", "reasons"}``."""

    def reason_counts(self, job_id: str) -> list[tuple[str, str, str | None, int]] | None:
        """``(table, code, field, rows)``: how many of the job's refused rows gave each reason, by its code and the
        field it names (None for none); a row counts once under each of its reasons. None where the database
        cannot count them itself: the caller reads every page then."""
        return None


class Checkpoints(abc.ABC):
    """How far each load of a job got, under a key: the table, or ``table#part`` for one part of a split file."""

    @abc.abstractmethod
    def get(self, job_id: str, key: str) -> Checkpoint | None: ...

    @abc.abstractmethod
    def save(self, job_id: str, key: str, checkpoint: Checkpoint) -> None: ...

    @abc.abstractmethod
    def total(self, job_id: str, keys: Sequence[str]) -> TableCounts:
        """The counts of these checkpoints added up; a key with no checkpoint counts nothing."""


class BatchSummaries(abc.ABC):
    """One summary per committed batch of a load, numbered from 1 under the load's checkpoint key."""

    @abc.abstractmethod
    def add(self, job_id: str, key: str, summary: BatchSummary) -> None:
        """Record the next batch of the load under ``key``."""

    @abc.abstractmethod
    def first(self, job_id: str, keys: Sequence[str], limit: int) -> tuple[list[BatchSummary], int]:
        """The first ``limit`` summaries of these loads, ``keys`` in order and each in batch order, and how many
        there are in all."""
