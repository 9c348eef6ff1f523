"""``init-db`` and ``db``: the schema, brought to head and changed through Alembic revisions."""

from __future__ import annotations

import argparse

from bootstrap import bootstrap
from infra.db.engine import connect
from infra.db.upgrade import current_revision, head_revision, new_revision, upgrade_sql

DIALECTS = ("mssql", "postgresql", "sqlite")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    init = commands.add_parser(
        "init-db", help="bring the database schema to the newest revision (Alembic upgrade head; safe to run again)"
    )
    init.set_defaults(handler=init_db)

    db = commands.add_parser("db", help="schema migrations: write a revision, show the database's, print the SQL")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    revision = actions.add_parser(
        "revision", help="write the next revision in infra/db/migrations/versions: what schema.py has and they lack"
    )
    revision.add_argument("-m", "--message", required=True, help="what the revision changes, in a few words")
    revision.add_argument("--empty", action="store_true", help="a blank revision to fill in by hand (data changes)")
    revision.set_defaults(handler=write_revision)
    current = actions.add_parser("current", help="the revision DATABASE_URL is at, and the newest")
    current.set_defaults(handler=show_current)
    sql = actions.add_parser(
        "sql", help="print the DDL of the revisions, for a DBA to read or run (no database needed)"
    )
    sql.add_argument("--dialect", choices=DIALECTS, default="mssql", help="default: mssql (Azure SQL)")
    sql.add_argument("--from", dest="start", metavar="REVISION", help="only the revisions after this one")
    sql.set_defaults(handler=print_sql)


def init_db(_args: argparse.Namespace) -> int:
    services = bootstrap()
    with connect(services.engine) as conn:
        revision = current_revision(conn)
    services.dispose()
    print(f"schema at revision {revision} (head) in {services.engine.url.render_as_string(hide_password=True)}")
    return 0


def write_revision(args: argparse.Namespace) -> int:
    path = new_revision(args.message, empty=args.empty)
    print(f"wrote {path}: read it, then run the tests (they check it against infra/db/schema.py)")
    return 0


def show_current(_args: argparse.Namespace) -> int:
    services = bootstrap(create_tables=False)
    with connect(services.engine) as conn:
        revision = current_revision(conn)
    services.dispose()
    head = head_revision()
    behind = "" if revision == head else "; `python main.py init-db` brings it there"
    print(f"database at {revision or 'no revision'}, newest revision {head}{behind}")
    return 0


def print_sql(args: argparse.Namespace) -> int:
    print(upgrade_sql(args.dialect, args.start), end="")
    return 0
