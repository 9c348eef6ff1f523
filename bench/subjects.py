"""What the benchmarks measure, driven through the project's public entry points only, so that the bench keeps
working while the internals behind them change: ``python main.py migrate`` (and ``backup``, ``restore``) as a
user runs them, an ``ingest`` job submitted and run as a worker runs it, and the backup and restore use cases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.generate import DataSet
from bench.runner import PROJECT_ROOT, Context
from bootstrap import Services, bootstrap
from core.config import load_settings
from core.ingest.submit import root_sources, submit_ingest
from core.jobs.runner import RunOutcome, handle_delivery
from core.jobs.submit import get_job
from domain.background_jobs import BackgroundJob, JobState

BROKER_VARIABLES = ("CELERY_BROKER_URL", "REDIS_URL")


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def postgres_database(ctx: Context, name: str) -> str:
    """A new, empty PostgreSQL database ``name`` (dropped first if it exists)."""
    assert ctx.postgres_admin_url
    admin = create_engine(ctx.postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    admin.dispose()
    return ctx.postgres_admin_url.rsplit("/", 1)[0] + "/" + name


def bench_environ(url: str, storage: Path, work: Path, **extra: str) -> dict[str, str]:
    """The settings of a bench process: its database, its storage, an embedded broker folder of its own,
    the whole file in one job (no parts)."""
    return {
        "DATABASE_URL": url,
        "STORAGE_URL": storage.as_uri(),
        "BROKER_DIR": str(work / "broker"),
        "INGEST_PARTS": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def services_for(url: str, storage: Path, work: Path) -> Services:
    return bootstrap(load_settings(bench_environ(url, storage, work)))


def run_ingest_job(services: Services, sources: Mapping[str, str] | None = None) -> BackgroundJob:
    """Submit an ``ingest`` job of the CSVs at the storage root and run it here, as a worker's task does."""
    job = submit_ingest(services.database, services.queue, services.storage, sources or root_sources())
    outcome = handle_delivery(
        services.database,
        services.handlers,
        job.id,
        worker=f"bench:{socket.gethostname()}:{os.getpid()}",
        lease_seconds=services.settings.job_lease_seconds,
    )
    done = get_job(services.database, job.id)
    if outcome is not RunOutcome.FINISHED or done.state != JobState.SUCCESS:
        raise RuntimeError(f"the ingest job ended {outcome.value} / {done.state}: {done.error}")
    return done


def job_counts(job: BackgroundJob, table: str) -> dict[str, int]:
    assert job.result is not None
    counts: dict[str, int] = job.result["tables"][table]
    return counts


class CommandFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Finished:
    """What ``python main.py ...`` printed, and its own peak RSS in MB (see ``bench/peak_rss.py``)."""

    output: str
    peak_mb: float  # the larger of ru_maxrss and the peak PSS of the command with its children
    floor_mb: float  # the launcher's own peak, under which no figure can go
    tree_pss_mb: float = 0.0  # the peak of the command's PSS summed with its children's (bench/peak_rss.py)


def main_py(args: list[str], environ: Mapping[str, str], *, sample_memory: bool = True) -> Finished:
    """Run ``python main.py ARGS`` as a user does, from the small launcher that measures its peak RSS; without
    ``sample_memory`` (a run timed for its speed), the launcher does not sample the PSS of the process tree."""
    env = {k: v for k, v in os.environ.items() if k not in BROKER_VARIABLES}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), **environ})
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.peak_rss",
                *([] if sample_memory else ["--rss-only"]),
                str(report),
                sys.executable,
                str(PROJECT_ROOT / "main.py"),
                *args,
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        output = done.stdout.decode("utf-8", "replace")
        found = json.loads(report.read_text()) if report.is_file() else {"exit_code": done.returncode}
    if done.returncode or found["exit_code"]:
        raise CommandFailed(f"main.py {' '.join(args)} failed ({found['exit_code']}): {output[-500:]}")
    tree = found.get("tree_pss_peak_kb", 0) / 1024  # kilobytes on Linux
    return Finished(output, max(found["peak_kb"] / 1024, tree), found["floor_kb"] / 1024, tree)


def migrate(url: str, data: DataSet, work: Path, *, sample_memory: bool = True) -> Finished:
    """``python main.py migrate --source FOLDER --no-progress`` into ``url``."""
    environ = bench_environ(url, work / "storage", work)
    return main_py(["migrate", "--source", str(data.folder), "--no-progress"], environ, sample_memory=sample_memory)


def migrated_counts(output: str, table: str) -> dict[str, int]:
    """The counts of ``table`` in migrate's summary table."""
    for line in output.splitlines():
        words = line.split()
        if words and words[0] == table:
            processed, inserted, already, rejected = (int(w) for w in words[1:5])
            return {"processed": processed, "inserted": inserted, "already_exists": already, "rejected": rejected}
    raise ValueError(f"no line for {table} in migrate's output: {output[-500:]}")
