"""Scale-out: one large file as one ``ingest`` job through Celery on Redis, with 1 worker process and with 2."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import redis

from bench.generate import DataSet, generate
from bench.processes import running, service_environ, wait_until
from bench.runner import Context, Figure
from bench.subjects import fresh_sqlite, postgres_database
from bootstrap import bootstrap
from core.config import load_settings
from core.ingest.submit import root_sources, submit_ingest
from core.jobs.submit import get_job

# A database number of its own, flushed before each run; nothing else is kept there.
REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET = 1.5
LIMIT = (
    "one worker already parses its file in a child process beside its writes, so it uses both cores; two workers, "
    "each with its child, share the same 2 cores with PostgreSQL, Redis and this process and cannot gain here "
    "(on 2026-11-22, before the child, one worker ran at 24 000–27 000 rows/s and two at 46 000–49 000)"
)


def redis_or_none() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001 - any failure means no broker for this run
        return None
    return REDIS_URL


def one_job(url: str, data: DataSet, folder: Path, workers: int) -> tuple[float, dict[str, int]]:
    """Seconds from the job's creation to SUCCESS, and its hired_employees counts."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    environ = service_environ(
        url,
        folder,
        STORAGE_URL=data.folder.as_uri(),
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_KEY_PREFIX=f"bench-{uuid.uuid4().hex[:8]}:",
        INGEST_PARTS=str(workers),
        INGEST_PART_MIN_BYTES=str(1 << 20),
        WORKER_CONCURRENCY="1",
        LOG_LEVEL="INFO",  # the worker says "ready" at this level
    )
    services = bootstrap(load_settings(environ))
    logs = folder / "logs"
    try:
        with running(["worker"] * workers, environ, logs):
            files = [logs / f"worker-{n}.log" for n in range(1, workers + 1)]
            wait_until(lambda: all(f.exists() and b"ready" in f.read_bytes() for f in files), 60, "the workers")
            started = time.perf_counter()
            job = submit_ingest(services.database, services.queue, services.storage, root_sources())
            done = wait_until(
                lambda: (found := get_job(services.database, job.id)).finished and found,
                1800,
                "the ingest job",
                interval=0.05,
            )
            elapsed = time.perf_counter() - started
    finally:
        services.dispose()
    if done.state != "SUCCESS":
        raise RuntimeError(f"the job ended {done.state}: {done.error}")
    counts: dict[str, int] = done.result["tables"]["hired_employees"] if done.result else {}
    assert counts["processed"] == data.rows, counts
    return elapsed, counts


def scale_out(ctx: Context) -> list[Figure]:
    if ctx.quick and "scale_out" not in ctx.named:
        # Four runs of a file large enough to split, each starting its workers: more than a quick run has.
        note = "not in a quick run: python -m bench --quick --only scale_out"
        return [Figure("Scale-out", None, "rows/s", note=note)]
    broker = redis_or_none()
    if not (broker and ctx.postgres_admin_url):
        return [Figure("Scale-out", None, "rows/s", note="needs Redis at 127.0.0.1:6379 and PostgreSQL")]
    # Quick: a smaller file than the 40 MB asked for, so that the whole quick run stays under two minutes.
    rows = 300_000 if ctx.quick else 2_000_000
    data = generate(ctx.data_dir / f"employees-{rows}", rows, ctx.invalid_share)
    size_mb = data.employees.stat().st_size / 1e6
    folder = ctx.data_dir / "scale-out"
    plan = [
        ("1 worker (PostgreSQL)", "PostgreSQL", 1),
        ("2 workers (PostgreSQL)", "PostgreSQL", 2),
        ("1 worker (SQLite)", "SQLite", 1),
        ("2 workers (SQLite)", "SQLite", 2),
    ]
    # One run of each, one after the other: each takes long enough that a second would not fit the quick run.
    runs: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, db, workers in plan:
        if db == "PostgreSQL":
            url = postgres_database(ctx, "hf_bench_scale_out")
        else:
            url = fresh_sqlite(folder / "scale-out.db")
        runs[name], counts[name] = one_job(url, data, folder, workers)
        ctx.log(f"  scale-out {name}: {data.rows / runs[name]:,.0f} rows/s")
    rate = {name: data.rows / seconds for name, seconds in runs.items()}
    gain = rate["2 workers (PostgreSQL)"] / rate["1 worker (PostgreSQL)"]
    sqlite_ratio = rate["2 workers (SQLite)"] / rate["1 worker (SQLite)"]
    what = f"{data.rows:,}-row file ({size_mb:.0f} MB), job created to SUCCESS"
    return [
        Figure(
            "Scale-out, 1 worker (PostgreSQL)",
            rate["1 worker (PostgreSQL)"],
            "rows/s",
            note=f"{what}; INGEST_PARTS=1, one worker process",
            details={"seconds": runs["1 worker (PostgreSQL)"], "counts": counts["1 worker (PostgreSQL)"]},
        ),
        Figure(
            "Scale-out, 2 workers (PostgreSQL)",
            rate["2 workers (PostgreSQL)"],
            "rows/s",
            f"≥ {TARGET}× 1 worker",
            gain,
            gain >= TARGET,
            note=f"{what}; INGEST_PARTS=2, two worker processes of concurrency 1",
            details={"seconds": runs["2 workers (PostgreSQL)"], "counts": counts["2 workers (PostgreSQL)"]},
            if_missed=LIMIT,
        ),
        Figure(
            "Scale-out, 1 worker (SQLite)",
            rate["1 worker (SQLite)"],
            "rows/s",
            note=f"{what}; INGEST_PARTS=1, one worker process",
            details={"seconds": runs["1 worker (SQLite)"], "counts": counts["1 worker (SQLite)"]},
        ),
        Figure(
            "Scale-out, 2 workers (SQLite)",
            rate["2 workers (SQLite)"],
            "rows/s",
            "single writer: gain or cost",
            sqlite_ratio,
            note=f"{what}; ratio to 1 worker on SQLite, {'a gain' if sqlite_ratio > 1 else 'a cost'}: the parse and "
            "validation run in parallel, the writes take turns on SQLite's single write lock",
            details={"seconds": runs["2 workers (SQLite)"], "counts": counts["2 workers (SQLite)"]},
        ),
    ]
