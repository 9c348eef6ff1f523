"""``generate-sample`` and ``migrate``."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from bootstrap import bootstrap
from cli.output import ProgressBars, counts_table
from core.ingest.loader import ingest_sources
from core.sample import write_sample
from domain.entities import TABLES
from domain.errors import SourceNotFound
from infra.storage.local import LocalFolderStorage


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sample = commands.add_parser("generate-sample", help="write a sample data set shaped like the challenge files")
    sample.add_argument("--dir", type=Path, help="write into this folder instead of the configured storage")
    sample.add_argument("--employees", type=int, default=2000, help="number of employee rows (default 2000)")
    sample.add_argument("--invalid-share", type=float, default=0.035, help="share of rows with an empty field")
    sample.add_argument("--if-empty", action="store_true", help="do nothing when the storage already holds CSVs")
    sample.set_defaults(handler=generate_sample)

    migrate = commands.add_parser("migrate", help="load departments.csv, jobs.csv, hired_employees.csv")
    migrate.add_argument("--source", type=Path, help="folder holding the CSVs (default: the configured storage)")
    migrate.add_argument("--no-progress", action="store_true", help="print only the summary")
    migrate.set_defaults(handler=migrate_files)


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
    storage = services.storage
    if args.source:
        if not args.source.is_dir():
            raise SourceNotFound(f"--source {args.source} is not a folder")
        storage = LocalFolderStorage(args.source.resolve())
    sources = {table: f"{table}.csv" for table in TABLES}
    missing = [name for name in sources.values() if not storage.exists(name)]
    if missing:
        raise SourceNotFound(f"missing in the source: {', '.join(missing)}")
    bars = ProgressBars(enabled=not args.no_progress)
    try:
        results = ingest_sources(services.database, storage, sources, job_id=str(uuid.uuid4()), reporter=bars)
    finally:
        bars.close()
    print(counts_table(results), file=sys.stdout)
    return 0
