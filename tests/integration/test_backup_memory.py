"""Reading a backup takes bounded memory: a deflate bomb is refused early, and a real backup still restores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bootstrap import bootstrap
from core.backup.back_up import backup_tables
from core.config import load_settings
from core.ingest.loader import ingest_blob, ingest_sources
from core.sample import csv_bytes, departments_rows, employee_rows, jobs_rows
from tests.conftest import ROOT
from tests.crafted_backups import MIB, deflate_bomb
from tests.integration.test_backup_restore import FORGED_ID, store_forged

pytestmark = pytest.mark.slow

EMPLOYEES = 100_000
PEAK_GROWTH_LIMIT_KIB = 100 * 1024


def restore_in_a_process_of_its_own(environ: dict[str, str], table: str, backup_id: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.restore_probe", table, backup_id],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_a_deflate_bomb_is_refused_in_bounded_memory_and_a_100000_row_backup_still_restores(tmp_path: Path) -> None:
    environ = {"DATABASE_URL": f"sqlite:///{tmp_path / 'hireflow.db'}", "STORAGE_URL": (tmp_path / "storage").as_uri()}
    services = bootstrap(load_settings(environ))
    try:
        services.storage.write("departments.csv", csv_bytes(departments_rows()))
        services.storage.write("jobs.csv", csv_bytes(jobs_rows()))
        services.storage.write("hired_employees.csv", csv_bytes(employee_rows(EMPLOYEES, 0.0, seed=21)))
        ingest_sources(services.database, services.storage, {"departments": "departments.csv", "jobs": "jobs.csv"})
        assert (
            ingest_blob(services.database, services.storage, "hired_employees", "hired_employees.csv").inserted
            == EMPLOYEES
        )
        [backup] = backup_tables(services.database, services.storage, services.backup_format, ["hired_employees"])
        bomb = deflate_bomb("hired_employees", inflated_bytes=290 * MIB)
        store_forged(services.storage, "hired_employees", bomb, rows=1)
    finally:
        services.dispose()
    assert len(bomb) < 300_000

    refused = restore_in_a_process_of_its_own(environ, "hired_employees", FORGED_ID)
    restored = restore_in_a_process_of_its_own(environ, "hired_employees", backup.id)

    assert refused["error"] == "InvalidBackup", refused
    assert "refused before any row is read: block 1 inflates to more than" in refused["message"]
    assert refused["peak_after_kib"] - refused["peak_before_kib"] < PEAK_GROWTH_LIMIT_KIB, refused
    assert restored.get("restored") == [
        {"table": "hired_employees", "backup_id": backup.id, "rows": EMPLOYEES, "rows_before": EMPLOYEES}
    ], restored
