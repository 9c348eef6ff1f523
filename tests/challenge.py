"""Independent answers for the challenge CSVs, computed with plain Python, for the report tests to check against."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [[field.strip() for field in row] for row in csv.reader(handle)]


def departments(folder: Path) -> dict[int, str]:
    return {int(r[0]): r[1] for r in _rows(folder / "departments.csv") if len(r) == 2 and all(r)}


def jobs(folder: Path) -> dict[int, str]:
    return {int(r[0]): r[1] for r in _rows(folder / "jobs.csv") if len(r) == 2 and all(r)}


def hires_in(folder: Path, year: int) -> list[tuple[int, int, datetime]]:
    """``(department_id, job_id, UTC moment)`` of every complete employee row hired in ``year``."""
    known_departments, known_jobs = departments(folder), jobs(folder)
    hires = []
    for row in _rows(folder / "hired_employees.csv"):
        if len(row) != 5 or not all(row):
            continue
        moment = datetime.fromisoformat(row[2]).astimezone(UTC)
        department_id, job_id = int(row[3]), int(row[4])
        if moment.year == year and department_id in known_departments and job_id in known_jobs:
            hires.append((department_id, job_id, moment))
    return hires


def hires_per_department(folder: Path, year: int) -> Counter[int]:
    return Counter(department_id for department_id, _job, _moment in hires_in(folder, year))
