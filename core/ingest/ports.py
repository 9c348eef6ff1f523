"""What a load needs from the database besides the hiring rows: the log of rejected rows and the checkpoints."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from domain.loads import Checkpoint, RejectedRow, TableCounts


class Rejections(abc.ABC):
    """The rows loads refused, with their reasons, in the unit of work's transaction."""

    @abc.abstractmethod
    def add(self, rows: Sequence[RejectedRow]) -> None: ...

    @abc.abstractmethod
    def page(self, job_id: str, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The rows a job refused, oldest first: ``{"table", "source", "line", "batch", "record", "reasons"}``."""


class Checkpoints(abc.ABC):
    """How far each load of a job got, under a key: the table, or ``table#part`` for one part of a split file."""

    @abc.abstractmethod
    def get(self, job_id: str, key: str) -> Checkpoint | None: ...

    @abc.abstractmethod
    def save(self, job_id: str, key: str, checkpoint: Checkpoint) -> None: ...

    @abc.abstractmethod
    def total(self, job_id: str, keys: Sequence[str]) -> TableCounts:
        """The counts of these checkpoints added up; a key with no checkpoint counts nothing."""
