"""Memory: the peak resident set of a separate worker process ingesting a large file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.generate import generate
from bench.ingest import fresh_sqlite
from bench.runner import PROJECT_ROOT, Context, Figure, stopwatch

LIMIT_MB = 200


def worker_peak_rss(ctx: Context) -> list[Figure]:
    data = generate(ctx.data_dir / f"employees-{ctx.memory_rows}", ctx.memory_rows, ctx.invalid_share)
    url = fresh_sqlite(ctx.data_dir / "memory.db")
    with stopwatch() as elapsed:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", url, str(data.folder)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        assert process.stdout
        output = process.stdout.read()
        # wait4 gives this one child's own peak, unlike RUSAGE_CHILDREN, which mixes in every earlier child.
        _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the worker failed with status {status}")
    counts = json.loads(output)["hired_employees"]
    assert counts["processed"] == data.rows, counts
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    return [
        Figure(
            f"Worker peak RSS, {data.rows:,}-row file (SQLite)",
            peak_mb,
            "MB",
            f"< {LIMIT_MB} MB",
            met=peak_mb < LIMIT_MB,
            note=f"SQLite with its 64 MB page cache; {data.rows / elapsed[0]:,.0f} rows/s end to end",
            details={"counts": counts, "seconds": elapsed[0]},
        )
    ]
