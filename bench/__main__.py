"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print the table, write results.md/.json."""

from __future__ import annotations

import argparse
import compileall
import logging
import os
import sys
import time

from sqlalchemy import create_engine, text

from bench import backup, batch_api, ingest, memory, reports, scale_out
from bench.runner import BENCH_DIR, PROJECT_ROOT, Benchmark, Context, run, table_text, write_results

# Each is independent of the others; a new one is one more entry here.
BENCHMARKS: list[Benchmark] = [
    ingest.ingest_sqlite,
    ingest.ingest_postgresql,
    memory.peak_rss,
    backup.backup_restore_sqlite,
    backup.backup_restore_postgresql,
    batch_api.batch_api,
    reports.reports,
    scale_out.scale_out,
]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The project's own code, compiled to bytecode before anything is timed: a command starts as it does for a user,
# whose first run (or the image's build, Dockerfile) left the bytecode, not compiling 90 modules on every start
# (0.1 s) as it would under PYTHONDONTWRITEBYTECODE, which some shells set.
PROJECT_PACKAGES = ("api", "bench", "cli", "core", "domain", "infra")


def compile_project() -> None:
    for package in PROJECT_PACKAGES:
        compileall.compile_dir(PROJECT_ROOT / package, quiet=1)
    for module in ("main.py", "bootstrap.py", "celery_worker.py"):
        compileall.compile_file(PROJECT_ROOT / module, quiet=1)


def postgres_or_none(url: str) -> str | None:
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        print(f"PostgreSQL is not reachable at {url} ({type(error).__name__}); its benchmarks are skipped")
        return None
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small files, for a run under two minutes")
    parser.add_argument("--rows", type=int, help="employees in the ingest, backup and restore files")
    parser.add_argument("--memory-rows", type=int, help="employees in the memory benchmark's file")
    parser.add_argument("--repeats", type=int, help="runs of each side; the best is kept")
    parser.add_argument("--invalid-share", type=float, default=0.02)
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--label", help="the command to print in results.md (the Makefile passes its own)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    ctx = Context(
        quick=args.quick,
        data_dir=BENCH_DIR / "data",
        postgres_admin_url=postgres_or_none(args.postgres_url),
        rows=rows,
        memory_rows=args.memory_rows or (100_000 if args.quick else 5_000_000),
        backup_rows=rows,
        repeats=args.repeats or 3,
        invalid_share=args.invalid_share,
        named=tuple(args.only or ()),
    )
    chosen = [b for b in BENCHMARKS if not args.only or b.__name__ in args.only]
    compile_project()
    started = time.monotonic()
    figures = run(chosen, ctx)
    ctx.seconds = time.monotonic() - started
    command = args.label or " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    md, js = write_results(figures, ctx, command)
    print()
    print(table_text(figures))
    print(f"\nwritten: {md.relative_to(BENCH_DIR.parent)}, {js.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
