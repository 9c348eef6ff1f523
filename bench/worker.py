"""A worker-like process for the memory benchmark: ``python -m bench.worker DATABASE_URL FOLDER``.

It does what a Celery task of an ingest job does (bootstrap, then ingest the three
files with a job id, checkpoints and progress) and prints the counts as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bootstrap import bootstrap
from core.config import load_settings
from core.ingest import ingest_sources
from core.ports import TableCounts
from infra.storage.local import LocalFolderStorage

SOURCES = {"departments": "departments.csv", "jobs": "jobs.csv", "hired_employees": "hired_employees.csv"}


def main(argv: list[str]) -> int:
    url, folder = argv
    services = bootstrap(load_settings({"DATABASE_URL": url, "STORAGE_URL": Path(folder).as_uri()}))
    last: dict[str, int] = {}

    def on_progress(table: str, counts: TableCounts, done: int, _total: int | None) -> None:
        last[table] = done

    try:
        results = ingest_sources(
            services.store, LocalFolderStorage(folder), SOURCES, job_id="bench-memory", on_progress=on_progress
        )
    finally:
        services.dispose()
    print(json.dumps({table: counts.as_dict() for table, counts in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
