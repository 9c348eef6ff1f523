"""Memory stays flat however large the file: the peak does not grow with the row count."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest.loader import ingest_blob, ingest_sources
from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from infra.storage.local import LocalFolderStorage


def peak_while_loading(tmp_path: Path, rows: int) -> int:
    folder = tmp_path / f"rows-{rows}"
    storage = LocalFolderStorage(folder)
    storage.write("departments.csv", csv_bytes(departments_rows()))
    storage.write("jobs.csv", csv_bytes(jobs_rows()))
    with open(folder / "hired_employees.csv", "wb") as out:
        for start in range(0, rows, 10_000):
            out.write(csv_bytes(employee_rows(min(10_000, rows - start), 0.05, seed=start, start_id=start + 1)))
    settings = load_settings({"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite'}", "STORAGE_URL": folder.as_uri()})
    services = bootstrap(settings)
    ingest_sources(services.database, storage, {"departments": "departments.csv", "jobs": "jobs.csv"})
    tracemalloc.start()
    try:
        counts = ingest_blob(services.database, storage, "hired_employees", "hired_employees.csv", job_id="m")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        services.dispose()
    assert counts.processed == rows
    return peak


def test_loading_ten_times_more_rows_does_not_need_more_memory(tmp_path: Path) -> None:
    small = peak_while_loading(tmp_path, 10_000)
    large = peak_while_loading(tmp_path, 100_000)
    assert large < small * 1.5 + 1_000_000, (small, large)
