"""Ingest: ``python main.py migrate`` and an ``ingest`` job against the honest limit of the same database, side by
side: each attempt runs the limit, then each subject, on a fresh database; the best of each is kept."""

from __future__ import annotations

from pathlib import Path

from bench import limits
from bench.generate import DataSet, generate
from bench.runner import Context, Figure, against_limit, stopwatch
from bench.subjects import (
    fresh_sqlite,
    job_counts,
    migrate,
    migrated_counts,
    postgres_database,
    run_ingest_job,
    services_for,
)

PARENTS = {"departments": "departments.csv", "jobs": "jobs.csv"}
TABLE = "hired_employees"
SQLITE_TARGET = 0.8
POSTGRES_TARGET = 0.5
# A full run takes the best of at least this many attempts of each side: a 1 000 000-row load's rate moves by a
# third between attempts on this shared 2-core machine, for the limit and the subject alike.
FULL_RUN_ATTEMPTS = 5
# What limits a miss, from profiles of the issue 12 work (python -m bench.profile ROWS [sqlite|postgresql]).
SQLITE_LIMIT = (
    "a large load builds its secondary indexes after the load as the limit does (bulk mode); its file is parsed in "
    "a child process that takes each canonical line straight into the database's form (the datetime's stored text "
    "from the line's own text), refuses what the rules refuse and sends each run of valid rows as one record; its "
    "batches skip SQLite's per-row foreign-key checks and keep the parents' ids they found while nothing could have "
    "removed them; what remains in the writing process per batch is receiving the rows, the executemany and commit "
    "the limit pays too, the bookkeeping statements (rejections, checkpoint, summary, progress) and the transaction "
    "around them, on 2 cores shared with the parse child; migrate also pays its process start and imports, the "
    "schema's creation and the copy of its files into the storage"
)
POSTGRES_LIMIT = (
    "a large load drops the secondary indexes and foreign keys as the limit does (bulk mode), lets the primary key "
    "refuse a stored id instead of looking its ids up, and parses its file in a child process that sends each "
    "timestamp as the integer the binary COPY carries; the job keeps its 1000-row transactions, and PostgreSQL 15 "
    "pays for each COPY in the square of the rows it buffers (a slot a row, registered with the statement's "
    "resource owner: a third of the server's time in a 1000-row COPY, by perf), so a batch goes in two COPYs of "
    "500 and still costs the server about twice a row what one large COPY does; each batch waits for 6 round trips "
    "(one pipeline with BEGIN, rejections, checkpoint, summary and progress; the start and end of each COPY; "
    "COMMIT); the load, its parse child and the server share 2 cores, so the figure follows the machine's other "
    "load (0.47-0.52 in ingest-only runs of 5 attempts)"
)


def dataset(ctx: Context) -> DataSet:
    return generate(ctx.data_dir / f"employees-{ctx.rows}", ctx.rows, ctx.invalid_share)


def check_counts(counts: dict[str, int], data: DataSet) -> None:
    assert counts["processed"] == data.rows and counts["inserted"] > 0 and counts["rejected"] > 0, counts


def job_path(url: str, data: DataSet, work: Path) -> float:
    """Seconds from submitting an ``ingest`` job of the three files to its SUCCESS, run as a worker runs it."""
    services = services_for(url, data.folder, work)
    try:
        with stopwatch() as elapsed:
            job = run_ingest_job(services)
        check_counts(job_counts(job, TABLE), data)
    finally:
        services.dispose()
    return elapsed[0]


def migrate_path(url: str, data: DataSet, work: Path) -> float:
    """Seconds of ``python main.py migrate`` of the three files, start-up included, as a user meets it."""
    with stopwatch() as elapsed:
        done = migrate(url, data, work, sample_memory=False)
    check_counts(migrated_counts(done.output, TABLE), data)
    return elapsed[0]


def start_up(ctx: Context, work: Path) -> float:
    """Seconds of ``main.py migrate`` of the same departments and jobs and no employee: its fixed cost."""
    data = dataset(ctx)
    empty = work / "no-employees"
    empty.mkdir(parents=True, exist_ok=True)
    for name in (*PARENTS.values(), f"{TABLE}.csv"):
        source = data.folder / name
        (empty / name).write_bytes(source.read_bytes() if name != f"{TABLE}.csv" else b"")
    with stopwatch() as elapsed:
        migrate(fresh_sqlite(work / "start-up.db"), DataSet(empty, 0, 0.0, 0), work, sample_memory=False)
    return elapsed[0]


def attempts(ctx: Context) -> int:
    return ctx.repeats if ctx.quick else max(ctx.repeats, FULL_RUN_ATTEMPTS)


def limit_database(url: str, data: DataSet, work: Path) -> str:
    """``url`` with the project's schema and the parents loaded through the project: where a limit loads."""
    services = services_for(url, data.folder, work)
    try:
        run_ingest_job(services, PARENTS)
    finally:
        services.dispose()
    return url


def ingest_sqlite(ctx: Context) -> list[Figure]:
    data = dataset(ctx)
    work = ctx.data_dir / "ingest-sqlite"
    limit: list[float] = []
    builds: list[float] = []
    by_migrate: list[float] = []
    by_job: list[float] = []
    for attempt in range(attempts(ctx)):
        url = limit_database(fresh_sqlite(work / "limit.db"), data, work)
        seconds, build = limits.sqlite_ingest(url, data.valid_employees)
        limit.append(seconds)
        builds.append(build)
        by_migrate.append(migrate_path(fresh_sqlite(work / "migrate.db"), data, work))
        by_job.append(job_path(fresh_sqlite(work / "job.db"), data, work))
        ctx.log(
            f"  sqlite run {attempt + 1}: limit {data.rows / limit[-1]:,.0f} rows/s ({build:.1f} s of index build), "
            f"migrate {data.rows / by_migrate[-1]:,.0f}, job {data.rows / by_job[-1]:,.0f}"
        )
    fixed = start_up(ctx, work)
    what = (
        f"{data.rows:,}-row file, best of {attempts(ctx)} attempts; limit: csv.reader → executemany, 1000-row "
        f"transactions, WAL, no secondary index, then the indexes built ({min(builds):.1f} s of the limit's "
        f"{min(limit):.1f} s)"
    )
    return [
        against_limit(
            "Ingest into SQLite, python main.py migrate",
            data.rows,
            by_migrate,
            limit,
            SQLITE_TARGET,
            note=f"{what}; the command's fixed cost (start-up, schema, departments and jobs) is {fixed:.1f} s",
            if_missed=SQLITE_LIMIT,
            details={"index_build_seconds": builds, "fixed_cost_seconds": fixed},
        ),
        against_limit(
            "Ingest into SQLite, ingest job",
            data.rows,
            by_job,
            limit,
            SQLITE_TARGET,
            note=f"{what}; submitted and run as a worker runs it, departments and jobs included",
            if_missed=SQLITE_LIMIT,
            details={"index_build_seconds": builds},
        ),
    ]


def ingest_postgresql(ctx: Context) -> list[Figure]:
    if not ctx.postgres_admin_url:
        return [Figure("Ingest into PostgreSQL, ingest job", None, "rows/s", note="no PostgreSQL for this run")]
    data = dataset(ctx)
    work = ctx.data_dir / "ingest-postgresql"
    limit: list[float] = []
    builds: list[float] = []
    by_job: list[float] = []
    for attempt in range(attempts(ctx)):
        url = limit_database(postgres_database(ctx, "hf_bench_limit"), data, work)
        seconds, build = limits.postgres_ingest(url, data.valid_employees)
        limit.append(seconds)
        builds.append(build)
        by_job.append(job_path(postgres_database(ctx, "hf_bench"), data, work))
        ctx.log(
            f"  postgres run {attempt + 1}: limit {data.rows / limit[-1]:,.0f} rows/s ({build:.1f} s of index "
            f"and key build), job {data.rows / by_job[-1]:,.0f}"
        )
    return [
        against_limit(
            "Ingest into PostgreSQL, ingest job",
            data.rows,
            by_job,
            limit,
            POSTGRES_TARGET,
            note=f"{data.rows:,}-row file, best of {attempts(ctx)} attempts; limit: one COPY of its valid rows, no "
            f"secondary index or foreign key, then both built ({min(builds):.1f} s of the limit's {min(limit):.1f} s); "
            "the job loads departments and jobs too",
            if_missed=POSTGRES_LIMIT,
            details={"index_build_seconds": builds},
        )
    ]
