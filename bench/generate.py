"""Realistic challenge-shaped CSV files of any size, streamed to disk in chunks, never held in memory."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows

CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class DataSet:
    folder: Path
    rows: int
    invalid_share: float
    seed: int

    @property
    def employees(self) -> Path:
        return self.folder / "hired_employees.csv"

    @property
    def valid_employees(self) -> Path:
        """The same file without the rows the rules refuse: what the raw COPY baseline loads."""
        return self.folder / "hired_employees.valid.csv"


def generate(folder: Path, rows: int, invalid_share: float = 0.02, seed: int = 2021) -> DataSet:
    """Write departments.csv, jobs.csv, hired_employees.csv (and its valid rows) unless they already match."""
    data = DataSet(folder, rows, invalid_share, seed)
    stamp = folder / "dataset.json"
    wanted = {k: v for k, v in asdict(data).items() if k != "folder"}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted and data.valid_employees.is_file():
        return data
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    (folder / "departments.csv").write_bytes(csv_bytes(departments_rows()))
    (folder / "jobs.csv").write_bytes(csv_bytes(jobs_rows()))
    with open(data.employees, "wb") as out, open(data.valid_employees, "w", newline="", encoding="utf-8") as valid:
        writer = csv.writer(valid, lineterminator="\n")
        for start in range(0, rows, CHUNK_ROWS):
            chunk = list(employee_rows(min(CHUNK_ROWS, rows - start), invalid_share, seed + start, start + 1))
            out.write(csv_bytes(chunk))
            writer.writerows(row for row in chunk if all(row))
    stamp.write_text(json.dumps(wanted))
    return data
