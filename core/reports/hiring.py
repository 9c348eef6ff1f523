"""The two hiring reports: hires per quarter, and departments that hired above the mean.

The database aggregates; these use cases validate the year, apply the mean's
definition and put the rows in an order that is the same on every backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.csv_export import SpreadsheetSafeWriter
from core.reports.ports import DepartmentHires, QuarterHires, ReportQueries
from domain.errors import InvalidRequest
from domain.rules import MAX_YEAR, MIN_YEAR

DEFAULT_YEAR = 2021
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
QUARTER_COLUMNS = ("department", "job", *QUARTERS)
ABOVE_AVERAGE_COLUMNS = ("id", "department", "hired")

MEAN_DEFINITION = (
    "The mean is the number of employees hired in the year divided by the number of departments in the "
    "departments table, including departments that hired nobody that year. A department is listed when it "
    "hired strictly more employees than that mean."
)


@dataclass(frozen=True)
class HiredByQuarter:
    year: int
    rows: list[QuarterHires]

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "rows": [row.as_dict() for row in self.rows]}


@dataclass(frozen=True)
class HiringAboveAverage:
    year: int
    mean: float
    rows: list[DepartmentHires]

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "mean": self.mean, "rows": [row.as_dict() for row in self.rows]}


def check_year(year: object) -> int:
    """The year as an int between 1900 and 2100, or ``InvalidRequest``."""
    if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidRequest(
            f"year must be a whole number between {MIN_YEAR} and {MAX_YEAR}, got {year!r}",
            {"year": year if isinstance(year, int | str) else repr(year)},
        )
    return year


def hired_by_quarter(queries: ReportQueries, year: int = DEFAULT_YEAR) -> HiredByQuarter:
    """Hires per department and job in each quarter of ``year``, by department then job name."""
    year = check_year(year)
    # Sorted here, not in SQL: Python compares code points, whatever the database collation.
    rows = sorted(queries.hires_by_quarter(year), key=lambda r: (r.department, r.job, r.department_id, r.job_id))
    return HiredByQuarter(year, rows)


def hiring_above_average(queries: ReportQueries, year: int = DEFAULT_YEAR) -> HiringAboveAverage:
    """Departments that hired more than the mean in ``year`` (see ``MEAN_DEFINITION``), most hires first."""
    year = check_year(year)
    departments = queries.hires_by_department(year)
    total = sum(d.hired for d in departments)
    count = len(departments)
    mean = total / count if count else 0.0
    # hired > total / count, compared in integers so no float rounding decides a tie.
    above = [d for d in departments if d.hired * count > total]
    above.sort(key=lambda d: (-d.hired, d.id))
    return HiringAboveAverage(year, mean, above)


def rows_as_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """A report's rows as CSV text with a header line, safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(columns)
    writer.writerows([row[c] for c in columns] for row in rows)
    return out.getvalue()
