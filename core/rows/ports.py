"""What reading rows back needs from the database: rows of one table in id order, after a given id."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RowFilter:
    """Every bound is inclusive except ``hired_before``; ``None`` leaves a bound open. Times are naive UTC."""

    min_id: int | None = None
    max_id: int | None = None
    department_id: int | None = None
    job_id: int | None = None
    hired_from: datetime | None = None
    hired_before: datetime | None = None

    def employee_only(self) -> list[str]:
        """The filters that only ``hired_employees`` has columns for, among those set."""
        names = ("department_id", "job_id", "hired_from", "hired_before")
        return [name for name in names if getattr(self, name) is not None]


class RowQueries(abc.ABC):
    """Rows of the hiring tables as tuples in column order."""

    @abc.abstractmethod
    def page(self, table: str, filters: RowFilter, after_id: int, limit: int) -> list[tuple[Any, ...]]:
        """At most ``limit`` rows with an id above ``after_id`` that pass ``filters``, in id order."""

    @abc.abstractmethod
    def one(self, table: str, row_id: int) -> tuple[Any, ...] | None:
        """The row with this id, or ``None``."""
