"""What the reports need from the database: aggregates over the hiring tables, in no particular order."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class QuarterHires:
    department_id: int
    department: str
    job_id: int
    job: str
    Q1: int
    Q2: int
    Q3: int
    Q4: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "job": self.job,
            "Q1": self.Q1,
            "Q2": self.Q2,
            "Q3": self.Q3,
            "Q4": self.Q4,
        }


@dataclass(frozen=True)
class DepartmentHires:
    id: int
    department: str
    hired: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "department": self.department, "hired": self.hired}


def year_bounds(year: int) -> tuple[datetime, datetime, datetime, datetime, datetime]:
    """The starts of Q1..Q4 and of the next year, in naive UTC: each quarter is ``[start, next start)``."""
    return (
        datetime(year, 1, 1),
        datetime(year, 4, 1),
        datetime(year, 7, 1),
        datetime(year, 10, 1),
        datetime(year + 1, 1, 1),
    )


class ReportQueries(abc.ABC):
    """Aggregates over the hiring tables, in no particular order."""

    @abc.abstractmethod
    def hires_by_quarter(self, year: int) -> list[QuarterHires]:
        """One row per department id and job id with a hire in ``year`` (UTC), counted per quarter."""

    @abc.abstractmethod
    def hires_by_department(self, year: int) -> list[DepartmentHires]:
        """Every department, with the number of employees it hired in ``year`` (UTC), zero included."""
