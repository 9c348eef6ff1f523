"""Schema migrations with Alembic: the revisions in ``infra/db/migrations/versions`` and how a database reaches head.

Every process brings the schema to head as it starts, and most find it there: the revision is read with one query,
and Alembic (a tenth of a second to import) is imported only when there is something to migrate. An empty database
gets the newest schema from ``infra/db/schema.py`` in one step and is stamped at head, as Alembic's cookbook builds
a database from scratch; a test keeps the two ways to one schema (tests/integration/test_fresh_schema.py).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    func,
    insert,
    inspect,
    select,
)

from core.config import PROJECT_ROOT
from domain.errors import ConfigurationError, HireflowError
from infra.db.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic's own table, as it makes it: what an empty database made from the models is stamped in.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)

# A database made before Alembic has no alembic_version; its tables say which release made it
# (hireflow_schema held 1 in all of them). Newest first: the revision whose tables it has all of.
_FIRST_TABLES = {"departments", "jobs", "hired_employees", "rejected_rows", "ingest_checkpoints", "hireflow_schema"}
PRE_ALEMBIC_REVISIONS = (
    ("0002", _FIRST_TABLES | {"background_jobs"}),
    ("0001", _FIRST_TABLES),
)
HIREFLOW_TABLES = set(metadata.tables) | _FIRST_TABLES

# Offline there is no server to ask what it supports; these are what a live connection finds on ours.
OFFLINE_DIALECT_OPTIONS: dict[str, dict[str, Any]] = {
    # SQL Server 2012 and later, Azure SQL: NVARCHAR(max), not the deprecated NTEXT.
    "mssql": {"deprecate_large_types": True},
}

# Any constant will do, as long as every hireflow process uses the same one.
POSTGRES_LOCK_KEY = 0x68697265666C6F77  # "hireflow"


def alembic_config(
    connection: Connection | None = None,
    *,
    migrations: Path = MIGRATIONS,
    target_metadata: MetaData = metadata,
    dialect_name: str | None = None,
    output: io.StringIO | None = None,
) -> Config:
    """A config for ``alembic.command`` without an alembic.ini: the connection, or the dialect for SQL, comes in."""
    from alembic.config import Config

    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["target_metadata"] = target_metadata
    if connection is not None:
        config.attributes["connection"] = connection
    if dialect_name:
        config.set_main_option("dialect_name", dialect_name)
    return config


def head_revision(migrations: Path = MIGRATIONS) -> str:
    """The newest revision; there is one, and one only (a test fails on two heads)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(migrations=migrations)).get_current_head()
    if head is None:
        raise ConfigurationError(f"no revision in {migrations}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None before its first migration."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine, migrations: Path = MIGRATIONS) -> None:
    """Bring the database to the newest revision: an empty one, one made before Alembic, or an older revision.

    Safe to run again, and from several processes at once: one upgrades while the others wait, then find it done.
    """
    if migrations == MIGRATIONS and _at_head_or_made_fresh(engine):
        return
    from alembic import command

    head = head_revision(migrations)
    with engine.connect() as conn:
        current = current_revision(conn)
    if current == head:
        return
    if current is not None and not _known(current, migrations):
        raise ConfigurationError(
            f"the database is at schema revision {current}, which this version of hireflow does not have "
            f"(its newest is {head}): a newer release upgraded it, so run that release or a later one"
        )
    with _upgrade_lock(engine) as conn:
        config = alembic_config(conn, migrations=migrations)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and tables & HIREFLOW_TABLES:
            command.stamp(config, pre_alembic_revision(tables))
        command.upgrade(config, "head")


def newest_revision_file(migrations: Path = MIGRATIONS) -> str:
    """The head as the revisions' file names give it (``0006_checkpoint_indexes_pending.py``: each revision numbered
    after the one before, by ``new_revision``), without Alembic; a test checks it against Alembic's head."""
    return max(path.name.split("_", 1)[0] for path in (migrations / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _at_head_or_made_fresh(engine: Engine) -> bool:
    """Whether the database was at head already, or empty and now made at head from the models; False when it needs
    Alembic (an older revision, a database made before Alembic, a newer release's revision)."""
    head = newest_revision_file()
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" in tables:
            return conn.execute(select(_VERSION_TABLE.c.version_num)).scalars().all() == [head]
    if tables:
        return False
    with _upgrade_lock(engine) as conn:
        if inspect(conn).get_table_names():  # another process made it meanwhile
            return False
        metadata.create_all(conn)
        _VERSION_TABLE.create(conn)
        conn.execute(insert(_VERSION_TABLE).values(version_num=head))
    return True


def _known(revision: str, migrations: Path) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config(migrations=migrations)).get_revision(revision) is not None
    except CommandError:
        return False


def pre_alembic_revision(tables: set[str]) -> str:
    """The revision a database made before Alembic is at, judged by its tables."""
    for revision, made in PRE_ALEMBIC_REVISIONS:
        if made <= tables:
            return revision
    missing = ", ".join(sorted(_FIRST_TABLES - tables))
    raise ConfigurationError(
        f"the database has some of hireflow's tables but not {missing}: it was not made by hireflow; "
        "point DATABASE_URL at an empty database or at one hireflow made"
    )


def schema_differences(connection: Connection, target_metadata: MetaData = metadata) -> list[Any]:
    """What the database lacks or has beyond ``target_metadata``, as autogenerate sees it; [] when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, target_metadata))


def upgrade_sql(dialect_name: str, start: str | None = None, migrations: Path = MIGRATIONS) -> str:
    """The DDL of the revisions after ``start`` (default: all of them), for a DBA to read or run; no database needed."""
    from alembic import command

    output = io.StringIO()
    config = alembic_config(migrations=migrations, dialect_name=dialect_name, output=output)
    config.attributes["dialect_opts"] = OFFLINE_DIALECT_OPTIONS.get(dialect_name, {})
    command.upgrade(config, f"{start}:head" if start else "head", sql=True)
    return output.getvalue()


def new_revision(
    message: str, *, empty: bool = False, migrations: Path = MIGRATIONS, target_metadata: MetaData = metadata
) -> Path:
    """Write the next revision, numbered after the head, with what ``target_metadata`` has and the revisions lack.

    The comparison runs on a scratch SQLite database brought to head, whatever state the configured one is in.
    ``empty`` writes a revision to fill in by hand, such as a data migration.
    """
    from alembic import command
    from alembic.script import Script

    rev_id = f"{int(head_revision(migrations)) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        try:
            upgrade_schema(engine, migrations)
            with engine.connect() as conn:
                if not empty and not schema_differences(conn, target_metadata):
                    raise HireflowError(
                        "infra/db/schema.py and the revisions agree: nothing to write (--empty writes a blank revision)"
                    )
                config = alembic_config(conn, migrations=migrations, target_metadata=target_metadata)
                _format_with_ruff(config)
                written = command.revision(config, message, autogenerate=not empty, rev_id=rev_id)
        finally:
            engine.dispose()
    if not isinstance(written, Script):
        raise HireflowError(f"Alembic wrote {written!r}, not one revision")
    return Path(written.path)


def _format_with_ruff(config: Config) -> None:
    """The new revision is linted and formatted with the project's ruff settings (found from the checkout)."""
    hooks = {
        "ruff_fix": "check --fix --quiet REVISION_SCRIPT_FILENAME",
        "ruff_format": "format REVISION_SCRIPT_FILENAME",
    }
    config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
    for name, options in hooks.items():
        config.set_section_option("post_write_hooks", f"{name}.type", "module")
        config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
        config.set_section_option("post_write_hooks", f"{name}.options", options)
        config.set_section_option("post_write_hooks", f"{name}.cwd", str(PROJECT_ROOT))


@contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's migration lock, committed at the end."""
    backend = engine.dialect.name
    if backend == "sqlite":
        yield from _sqlite_write_transaction(engine)
        return
    with engine.begin() as conn:
        if backend == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(POSTGRES_LOCK_KEY)))
        elif backend == "mssql":
            conn.exec_driver_sql(
                "DECLARE @granted int; "
                "EXEC @granted = sp_getapplock @Resource = N'hireflow-schema', @LockMode = 'Exclusive', "
                "@LockOwner = 'Transaction', @LockTimeout = -1; "
                "IF @granted < 0 THROW 50000, 'hireflow: the schema migration lock was not granted', 1;"
            )
        yield conn


def _sqlite_write_transaction(engine: Engine) -> Iterator[Connection]:
    """``BEGIN IMMEDIATE``: SQLite's write lock from the first statement, so a second process waits for the first.

    Foreign keys are off meanwhile, as SQLite asks for schema changes (a batch migration copies a table and drops
    the old one), and checked before the commit.
    """
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise HireflowError("the migration left rows whose foreign keys point nowhere", broken)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
