"""What the self-healing tests check after a fault: the job's end, and every valid row stored exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.processes import wait_until
from core.backup.submit import submit_backup
from core.ingest.submit import root_sources, submit_ingest
from domain.background_jobs import BackgroundJob
from infra.db.schema import hired_employees, rejected_rows


def submit(services: Any) -> BackgroundJob:
    """An ingest of the three CSVs at the storage root, queued as the API would."""
    return submit_ingest(services.database, services.queue, services.storage, root_sources())


def employees_processed(services: Any, job_id: str) -> int:
    found = services.jobs.get(job_id)
    return int(found.progress.counts.get("hired_employees", {}).get("processed", 0)) if found else 0


def finished(services: Any, job_id: str, timeout: float) -> BackgroundJob:
    def end() -> BackgroundJob | None:
        found = services.jobs.get(job_id)
        return found if found is not None and found.finished else None

    job: BackgroundJob = wait_until(end, timeout, f"task {job_id} to finish", interval=0.1)
    return job


def assert_every_valid_row_once(services: Any, job: BackgroundJob, valid_ids: set[int], employees: int) -> None:
    """The job succeeded, its counts add up, each valid employee is stored once and each bad row logged once."""
    assert job.state == "SUCCESS", job.error
    assert job.result is not None
    assert job.result["tables"]["hired_employees"] == {
        "processed": employees,
        "inserted": len(valid_ids),
        "already_exists": 0,
        "rejected": employees - len(valid_ids),
    }
    with services.engine.connect() as conn:
        stored = list(conn.execute(select(hired_employees.c.id)).scalars())
        logged = conn.execute(
            select(func.count(), func.count(func.distinct(rejected_rows.c.line_number))).where(
                rejected_rows.c.job_id == job.id, rejected_rows.c.table_name == "hired_employees"
            )
        ).one()
    assert len(stored) == len(valid_ids) and set(stored) == valid_ids
    assert tuple(logged) == (employees - len(valid_ids),) * 2


def assert_next_job_runs(services: Any, timeout: float = 60) -> None:
    """A job queued after the fault (a backup of ``departments``) runs to the end."""
    job = finished(services, submit_backup(services.database, services.queue, ["departments"]).id, timeout)
    assert job.state == "SUCCESS", job.error


def run_children(run_pid: int) -> dict[str, int]:
    """The processes ``python main.py run`` (``run_pid``) started, by command: {"serve": pid, "worker": pid}."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == run_pid and len(arguments) >= 3 and arguments[1].endswith(b"main.py"):
            children[arguments[2].decode()] = int(entry.name)
    return children
