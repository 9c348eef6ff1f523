"""Memory: the peak resident set of ``python main.py migrate``, ``backup`` and ``restore`` on a large file,
each a process of its own, as a user runs them."""

from __future__ import annotations

import time

from bench.generate import generate
from bench.runner import Context, Figure
from bench.subjects import bench_environ, fresh_sqlite, main_py, migrate, migrated_counts

LIMIT_MB = 200
TABLE = "hired_employees"


def peak_rss(ctx: Context) -> list[Figure]:
    data = generate(ctx.data_dir / f"employees-{ctx.memory_rows}", ctx.memory_rows, ctx.invalid_share)
    work = ctx.data_dir / "memory"
    url = fresh_sqlite(work / "memory.db")
    environ = bench_environ(url, work / "storage", work)
    figures = []
    for command in ("migrate", "backup", "restore"):
        started = time.perf_counter()
        if command == "migrate":
            done = migrate(url, data, work)
            counts = migrated_counts(done.output, TABLE)
            assert counts["processed"] == data.rows, counts
        elif command == "backup":
            done = main_py(["backup", "--tables", TABLE, "--no-progress"], environ)
        else:
            done = main_py(["restore", "--table", TABLE, "--no-progress"], environ)
        seconds = time.perf_counter() - started
        mb = done.peak_mb
        figures.append(
            Figure(
                f"Peak RSS of main.py {command}, {data.rows:,}-row file (SQLite)",
                mb,
                "MB",
                f"< {LIMIT_MB} MB",
                met=mb < LIMIT_MB,
                note=f"its own process, started from a {done.floor_mb:.0f} MB launcher (bench/peak_rss.py); the larger "
                f"of its peak RSS and the peak of its PSS summed with its children's "
                f"({done.tree_pss_mb:.0f} MB; migrate parses a large file in a child process); "
                f"{data.rows / seconds:,.0f} rows/s end to end",
                details={
                    "seconds": seconds,
                    "launcher_floor_mb": done.floor_mb,
                    "tree_pss_mb": done.tree_pss_mb,
                    "output": done.output[-400:],
                },
            )
        )
    return figures
