"""``generate-sample``, ``migrate`` and ``rejections``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from bootstrap import Services, bootstrap
from cli.output import ProgressBars, counts_table, format_table
from core.ingest.rejections import rejections_csv, top_reasons
from core.ingest.submit import nothing_stored, root_sources, submit_ingest, upload_and_submit_ingest
from core.jobs.in_process import InProcessQueue
from core.jobs.submit import get_job
from core.sample import write_sample
from domain.background_jobs import BackgroundJob, JobState
from domain.entities import TABLES
from domain.errors import SourceNotFound
from domain.loads import TableCounts
from infra.failures import TRANSIENT, explain_failure, worker_id
from infra.storage.local import LocalFolderStorage

# Exit codes of ``migrate``: 0 loaded (rows may have been rejected), 1 the load failed or was refused,
# 2 a wrong setting or option, 3 rows were rejected and ``--fail-on-rejections`` was given.
EXIT_FAILED = 1
EXIT_REJECTED = 3
TOP_REASONS = 5
EXIT_CODES = (
    "exit status: 0 when the load ended (rows may have been rejected), 1 when it failed, was cancelled or refused "
    f"(a file missing, a restore of a table running), 2 on a wrong setting or option, {EXIT_REJECTED} when rows "
    "were rejected and --fail-on-rejections is given"
)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sample = commands.add_parser("generate-sample", help="write a sample data set shaped like the challenge files")
    sample.add_argument("--dir", type=Path, help="write into this folder instead of the configured storage")
    sample.add_argument("--employees", type=int, default=2000, help="number of employee rows (default 2000)")
    sample.add_argument("--invalid-share", type=float, default=0.035, help="share of rows with an empty field")
    sample.add_argument("--if-empty", action="store_true", help="do nothing when the storage already holds CSVs")
    sample.set_defaults(handler=generate_sample)

    migrate = commands.add_parser(
        "migrate",
        help="load departments.csv, jobs.csv, hired_employees.csv as an ingest task, in this process",
        description="Load departments.csv, jobs.csv and hired_employees.csv as an `ingest` task, run in this "
        "process the way a worker runs it (checkpoints after each batch); the task is listed in /task-list "
        "and its rejected rows are at /task-status/<id>/rejections.",
        epilog=EXIT_CODES,
    )
    migrate.add_argument(
        "--source",
        type=Path,
        help="folder holding the CSVs, copied into the storage under uploads/<task id>/ as an upload is "
        "(default: the CSVs at the root of the configured storage)",
    )
    migrate.add_argument("--rejections", type=Path, metavar="FILE.csv", help="write the rejected rows to this file")
    migrate.add_argument(
        "--fail-on-rejections",
        action="store_true",
        help=f"exit with status {EXIT_REJECTED} when any row was rejected (for pipelines)",
    )
    migrate.add_argument(
        "--if-empty", action="store_true", help="do nothing when the hiring tables already hold rows (first start)"
    )
    migrate.add_argument("--no-progress", action="store_true", help="print only the summary")
    migrate.set_defaults(handler=migrate_files)

    rejections = commands.add_parser(
        "rejections",
        help="write the rows a task rejected, with their reasons, as CSV",
        description="Write the rows a task rejected as CSV (the same as GET /task-status/<id>/rejections?format=csv).",
    )
    rejections.add_argument("task_id", metavar="TASK_ID", help="the task's id, as migrate or /task-list shows it")
    rejections.add_argument("--output", type=Path, metavar="FILE.csv", help="write to this file (default: stdout)")
    rejections.set_defaults(handler=write_rejections)


def generate_sample(args: argparse.Namespace) -> int:
    storage = LocalFolderStorage(args.dir) if args.dir else bootstrap(create_tables=False).storage
    if args.if_empty and any(storage.exists(f"{t}.csv") for t in TABLES):
        print("storage already holds CSV files; sample not written")
        return 0
    sizes = write_sample(storage, employees=args.employees, invalid_share=args.invalid_share)
    for name, size in sizes.items():
        print(f"wrote {name} ({size} bytes)")
    return 0


def migrate_files(args: argparse.Namespace) -> int:
    services = bootstrap()
    if args.if_empty and not nothing_stored(services.database):
        print("the hiring tables already hold rows; nothing loaded")
        return 0
    queue = InProcessQueue()
    job = _submit(services, queue, args.source)
    print(
        f"task {job.id}: ingest of {', '.join(root_sources().values())} from {args.source or 'the storage'}", flush=True
    )
    bars = ProgressBars(enabled=not args.no_progress)
    try:
        queue.run_queued(
            services.database,
            services.handlers_with(queue=queue),
            worker=f"cli@{worker_id()}",
            lease_seconds=services.settings.job_lease_seconds,
            transient=TRANSIENT,
            explain=explain_failure,
            observe=bars,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: task {job.id} stays unfinished; a worker resumes it after its last committed batch "
            f"(python main.py worker), or cancel it with DELETE /task-status/{job.id}",
            file=sys.stderr,
        )
        raise
    finally:
        bars.close()
    job = get_job(services.database, job.id)
    print(_summary(services, job))
    if args.rejections:
        _write_csv(services, job.id, args.rejections)
        print(f"rejected rows written to {args.rejections}")
    if job.state is not JobState.SUCCESS:
        print(f"hireflow: task {job.id} ended {job.state.value}: {job.error or 'no error recorded'}", file=sys.stderr)
        return EXIT_FAILED
    if args.fail_on_rejections and _rejected(job):
        print(f"hireflow: {_rejected(job)} rows rejected (--fail-on-rejections)", file=sys.stderr)
        return EXIT_REJECTED
    return 0


def _submit(services: Services, queue: InProcessQueue, source: Path | None) -> BackgroundJob:
    if source is not None and not source.is_dir():
        raise SourceNotFound(f"--source {source} is not a folder")
    names = root_sources()
    missing = [
        name
        for name in names.values()
        if not ((source / name).is_file() if source is not None else services.storage.exists(name))
    ]
    if missing:
        raise SourceNotFound(f"missing in the source: {', '.join(missing)}")
    if source is None:
        return submit_ingest(services.database, queue, services.storage, names)
    with ExitStack() as files:
        opened = {table: files.enter_context((source / name).open("rb")) for table, name in names.items()}
        return upload_and_submit_ingest(services.database, queue, services.storage, opened)


def _rejected(job: BackgroundJob) -> int:
    return sum(counts.get("rejected", 0) for counts in job.progress.counts.values())


def _summary(services: Services, job: BackgroundJob) -> str:
    counts = {table: TableCounts(**values) for table, values in job.progress.counts.items()}
    lines = [f"task {job.id}: {job.state.value}", "", counts_table(counts)]
    if _rejected(job):
        reasons = top_reasons(services.database, job.id)
        rows = [
            [table, reason, count]
            for table in counts
            for reason, count in reasons.get(table, Counter()).most_common(TOP_REASONS)
        ]
        lines += ["", format_table(["table", "top reasons", "rows"], rows)]
        lines += ["", f"rejected rows: python main.py rejections {job.id}  (or GET /task-status/{job.id}/rejections)"]
    return "\n".join(lines)


def write_rejections(args: argparse.Namespace) -> int:
    services = bootstrap(create_tables=False)
    job = get_job(services.database, args.task_id)
    if args.output:
        _write_csv(services, job.id, args.output)
    else:
        _copy(services, job.id, sys.stdout)
    return 0


def _write_csv(services: Services, job_id: str, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        _copy(services, job_id, out)


def _copy(services: Services, job_id: str, out: IO[str]) -> None:
    for chunk in rejections_csv(services.database, job_id):
        out.write(chunk)
