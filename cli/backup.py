"""``backup``, ``backups`` and ``restore``."""

from __future__ import annotations

import argparse
import sys

from bootstrap import bootstrap
from cli.output import RowProgressBars, format_table
from core.backup.back_up import backup_tables
from core.backup.catalogue import list_backups
from core.backup.restore import restore_tables
from domain.entities import TABLES


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = commands.add_parser("backup", help="back up tables to Avro files in the configured storage")
    backup.add_argument("--tables", nargs="+", metavar="TABLE", help=f"default: all ({', '.join(TABLES)})")
    backup.add_argument("--no-progress", action="store_true", help="print only the summary")
    backup.set_defaults(handler=run_backup)

    listing = commands.add_parser("backups", help="list backups, newest first")
    listing.add_argument("--table", help="only this table's backups")
    listing.set_defaults(handler=show_backups)

    restore = commands.add_parser(
        "restore", help="replace tables with a backup, in one transaction, after checking the files"
    )
    which = restore.add_mutually_exclusive_group(required=True)
    which.add_argument("--table", help="the table to restore")
    which.add_argument("--tables", nargs="+", metavar="TABLE", help="restore these tables together, each newest")
    restore.add_argument("--backup-id", help="with --table: the backup to use (default: the newest)")
    restore.add_argument("--no-progress", action="store_true", help="print only the summary")
    restore.set_defaults(handler=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    services = bootstrap()
    bars = RowProgressBars(enabled=not args.no_progress)
    try:
        made = backup_tables(services.database, services.storage, services.backup_format, args.tables, on_progress=bars)
    finally:
        bars.close()
    print(format_table(["table", "id", "rows", "bytes"], [[b.table, b.id, b.rows, b.bytes] for b in made]))
    return 0


def show_backups(args: argparse.Namespace) -> int:
    services = bootstrap(create_tables=False)
    backups = list_backups(services.storage, args.table)
    if not backups:
        print("no backups yet")
        return 0
    rows = [[b.table, b.id, b.as_dict()["created"], b.rows, b.bytes, b.sha256[:16]] for b in backups]
    print(format_table(["table", "id", "created", "rows", "bytes", "sha256"], rows))
    return 0


def run_restore(args: argparse.Namespace) -> int:
    if args.backup_id and not args.table:
        print("hireflow: --backup-id goes with --table", file=sys.stderr)
        return 2
    chosen = {args.table: args.backup_id} if args.table else dict.fromkeys(args.tables)
    services = bootstrap()
    bars = RowProgressBars(enabled=not args.no_progress)
    try:
        restored = restore_tables(services.database, services.storage, services.backup_format, chosen, on_progress=bars)
    finally:
        bars.close()
    rows = [[r.table, r.backup_id, r.rows_before, r.rows] for r in restored]
    print(format_table(["table", "backup_id", "rows_before", "rows_after"], rows))
    return 0
