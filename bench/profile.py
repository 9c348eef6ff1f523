"""Where the ingest time goes: ``python -m bench.profile [ROWS] [sqlite|postgresql]`` prints a cProfile summary
of an ``ingest`` job of a generated file, run in this process as a worker runs it."""

from __future__ import annotations

import cProfile
import pstats
import sys

from bench.__main__ import DEFAULT_POSTGRES
from bench.generate import generate
from bench.runner import BENCH_DIR, Context
from bench.subjects import fresh_sqlite, postgres_database, run_ingest_job, services_for


def main(argv: list[str]) -> int:
    rows = int(argv[0]) if argv else 200_000
    backend = argv[1] if len(argv) > 1 else "sqlite"
    data_dir = BENCH_DIR / "data"
    data = generate(data_dir / f"employees-{rows}", rows)
    if backend == "sqlite":
        url = fresh_sqlite(data_dir / "profile" / "profile.db")
    else:
        ctx = Context(True, data_dir, DEFAULT_POSTGRES, rows, 0, 0, 1)
        url = postgres_database(ctx, "hf_bench_profile")
    services = services_for(url, data.folder, data_dir / "profile")
    profiler = cProfile.Profile()
    profiler.enable()
    run_ingest_job(services)
    profiler.disable()
    services.dispose()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
