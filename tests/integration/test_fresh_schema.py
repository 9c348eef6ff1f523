"""An empty database gets the newest schema from the models in one step (``infra/db/upgrade.py``); every revision run
by Alembic gives the same schema, on real SQLite and PostgreSQL, and each start after that imports no Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from infra.db.engine import create_schema, make_engine
from infra.db.schema import metadata
from infra.db.upgrade import MIGRATIONS, head_revision, newest_revision_file, upgrade_schema
from tests.conftest import ROOT


def shape(engine: Engine) -> dict[str, Any]:
    """Every table with its columns, keys, indexes and constraints, as the database reports them."""
    found = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        columns = [
            (c["name"], str(c["type"]), c["nullable"], str(c.get("default")), c.get("autoincrement"))
            for c in found.get_columns(table)
        ]
        keys = sorted(
            (tuple(k["constrained_columns"]), k["referred_table"], tuple(k["referred_columns"]), k.get("name"))
            for k in found.get_foreign_keys(table)
        )
        indexes = sorted(
            (str(ix["name"]), tuple(map(str, ix["column_names"])), bool(ix["unique"]))
            for ix in found.get_indexes(table)
        )
        unique = sorted((u.get("name"), tuple(u["column_names"])) for u in found.get_unique_constraints(table))
        primary = found.get_pk_constraint(table)
        tables[table] = {
            "columns": columns,
            "primary_key": (tuple(primary["constrained_columns"]), primary.get("name")),
            "foreign_keys": keys,
            "indexes": indexes,
            "unique": unique,
        }
    return tables


def test_the_newest_revision_file_is_alembics_head() -> None:
    assert newest_revision_file() == head_revision()


def test_an_empty_database_made_from_the_models_has_the_schema_every_revision_gives(database_url: str) -> None:
    fresh = make_engine(database_url)
    try:
        create_schema(fresh)
        made = shape(fresh)
        with fresh.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
        # The same database emptied, then every revision run by Alembic: the path names another folder.
        with fresh.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                table.drop(conn, checkfirst=True)
            conn.execute(text("DROP TABLE alembic_version"))
        assert not inspect(fresh).get_table_names()
        upgrade_schema(fresh, Path(f"{MIGRATIONS}/../{MIGRATIONS.name}"))
        assert shape(fresh) == made
    finally:
        fresh.dispose()
    assert set(made) >= {"alembic_version", "hired_employees", "ingest_checkpoints", "background_jobs"}


def test_a_start_on_a_database_at_head_does_not_import_alembic(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        create_schema(engine)
    finally:
        engine.dispose()
    script = (
        "import sys\n"
        "from infra.db.engine import create_schema, make_engine\n"
        f"engine = make_engine({sqlite_url!r})\n"
        "create_schema(engine)\n"
        "print(sorted({name.split('.')[0] for name in sys.modules if name.startswith('alembic')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
