"""Schema migrations on real SQLite and PostgreSQL: old databases reach head with every row, and the models agree.

The old databases are made by the old releases themselves (``tests/old_releases.py``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, Connection, MetaData, String, Unicode, func, inspect, select, text

from domain.errors import ConfigurationError
from infra.db.engine import create_schema, make_engine
from infra.db.schema import metadata
from infra.db.upgrade import (
    MIGRATIONS,
    POSTGRES_LOCK_KEY,
    alembic_config,
    current_revision,
    head_revision,
    new_revision,
    schema_differences,
    upgrade_schema,
)
from tests.conftest import ROOT, _fresh_postgres_database
from tests.old_releases import (
    BEFORE_ALEMBIC,
    BEFORE_REPORT_INDEXES,
    FIRST_RELEASE,
    SHAPE_OF,
    main_process,
    make_old_database,
    release_trees,
    run_main,
)

HEAD = head_revision()
REPORT_INDEXES = {"ix_hired_employees_department_job_datetime", "ix_hired_employees_department_datetime"}


def start_init_db_twice(database_url: str, tmp_path: Path) -> list[subprocess.Popen[str]]:
    process = main_process(ROOT, "init-db", database_url=database_url, tmp_path=tmp_path)
    return [subprocess.Popen(**process, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]


def wait_until(condition: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return release_trees(tmp_path_factory)


@contextmanager
def connection(database_url: str, *, create: bool = False) -> Iterator[Connection]:
    """A connection to the database, after ``create_schema`` when ``create``."""
    engine = make_engine(database_url)
    try:
        if create:
            create_schema(engine)
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def every_row(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables = MetaData()
    tables.reflect(conn)
    return {
        name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
        for name, table in tables.tables.items()
        if name != "alembic_version"
    }


def shape(conn: Connection) -> dict[str, Any]:
    """Tables, columns (whatever their order), keys and indexes, as the database reports them."""
    found = inspect(conn)
    return {
        table: {
            "columns": {c["name"]: (str(c["type"]), c["nullable"]) for c in found.get_columns(table)},
            "primary key": found.get_pk_constraint(table),
            "foreign keys": sorted(
                (fk["name"], fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in found.get_foreign_keys(table)
            ),
            "indexes": sorted((ix["name"], ix["column_names"], ix["unique"]) for ix in found.get_indexes(table)),
        }
        for table in sorted(found.get_table_names())
        if table != "alembic_version"
    }


def upgraded_to(database_url: str, revision: str) -> dict[str, Any]:
    """The shape of an empty database taken through the revisions up to ``revision``."""
    with connection(database_url) as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.commit()
        return shape(conn)


def index_names(found: dict[str, Any]) -> set[str]:
    return {name for table in found.values() for name, _columns, _unique in table["indexes"]}


def copy_of_metadata() -> MetaData:
    copied = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copied)
    return copied


@pytest.fixture
def second_database_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
    else:
        yield from _fresh_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.mark.parametrize(
    "commit",
    [BEFORE_REPORT_INDEXES, BEFORE_ALEMBIC, FIRST_RELEASE],
    ids=["before-report-indexes-f68af94", "last-release-c0db317", "first-release-b50165d"],
)
def test_init_db_brings_a_database_an_old_release_made_to_head_keeping_every_row_and_adding_the_report_indexes(
    commit: str, database_url: str, second_database_url: str, challenge_dir: Path, old_release: Any, tmp_path: Path
) -> None:
    make_old_database(old_release(commit), database_url, challenge_dir, tmp_path)
    with connection(database_url) as conn:
        before, old_shape = every_row(conn), shape(conn)
        assert current_revision(conn) is None
    assert (REPORT_INDEXES <= index_names(old_shape)) == (commit == BEFORE_ALEMBIC)

    done = run_main(ROOT, "init-db", database_url=database_url, tmp_path=tmp_path)

    assert f"schema at revision {HEAD} (head)" in done.stdout
    with connection(database_url) as conn:
        assert current_revision(conn) == HEAD
        assert schema_differences(conn) == []
        assert REPORT_INDEXES <= index_names(shape(conn))
        after = every_row(conn)
    assert before.pop("hireflow_schema") == [(1,)]
    # Revision 0006 gives each checkpoint indexes_pending, false for the loads made before it.
    checkpoints = after.pop("ingest_checkpoints")
    assert [row[:-1] for row in checkpoints] == before.pop("ingest_checkpoints")
    assert {bool(row[-1]) for row in checkpoints} == {False}
    assert after == {"background_jobs": [], "ingest_batches": [], **before}
    assert [len(after[t]) for t in ("departments", "jobs", "hired_employees", "rejected_rows")] == [12, 183, 1929, 70]
    # The revision the database was taken to be at makes exactly what that release's init-db made.
    assert upgraded_to(second_database_url, SHAPE_OF[commit]) == old_shape


def test_a_new_database_is_at_head_and_has_exactly_the_schema_of_the_models(
    database_url: str, second_database_url: str
) -> None:
    with connection(database_url, create=True) as conn:
        assert current_revision(conn) == HEAD
        assert schema_differences(conn) == []
        through_the_revisions = shape(conn)
    engine = make_engine(second_database_url)
    metadata.create_all(engine)
    with engine.connect() as conn:
        assert shape(conn) == through_the_revisions
    engine.dispose()


def test_a_change_to_the_models_without_a_revision_fails_the_comparison(database_url: str) -> None:
    changed = copy_of_metadata()
    changed.tables["departments"].append_column(Column("code", String(10), nullable=True))
    with connection(database_url, create=True) as conn:
        differences = schema_differences(conn, changed)
    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "departments", "code")]


def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    with connection(database_url, create=True) as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(conn), "head")
        conn.commit()
        assert schema_differences(conn) == []


def test_a_database_made_before_alembic_with_the_report_indexes_added_by_hand_reaches_head(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), SHAPE_OF[BEFORE_REPORT_INDEXES])
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text("CREATE INDEX ix_hired_employees_department_datetime ON hired_employees (department_id, datetime)")
        )

    create_schema(engine)

    with engine.connect() as conn:
        assert current_revision(conn) == HEAD and schema_differences(conn) == []
    engine.dispose()


def test_a_database_with_only_some_of_hireflows_tables_is_refused_with_what_it_lacks(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (id INTEGER PRIMARY KEY, title VARCHAR(10))"))

    with pytest.raises(ConfigurationError, match="not made by hireflow") as refused:
        create_schema(engine)

    assert "departments, hired_employees, hireflow_schema, ingest_checkpoints, rejected_rows" in refused.value.message
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["jobs"]
    engine.dispose()


def test_a_new_revision_is_written_from_the_changed_models_and_upgrades_a_database_holding_rows(
    database_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    changed = copy_of_metadata()
    changed.tables["hired_employees"].append_column(Column("email", Unicode(200), nullable=True))
    changed.tables["departments"].c.department.type = Unicode(200)
    engine = make_engine(database_url)
    upgrade_schema(engine, migrations)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO departments (id, department) VALUES (1, 'Staff'), (2, 'Supply Chain')"))
        conn.execute(text("INSERT INTO jobs (id, job) VALUES (7, 'Recruiter')"))
        conn.execute(
            text("INSERT INTO hired_employees (id, name, datetime, department_id, job_id) VALUES (1, 'Ada', :t, 2, 7)"),
            {"t": datetime(2021, 3, 1, 9, 30)},
        )

    written = new_revision("employee email, longer department names", migrations=migrations, target_metadata=changed)

    following = f"{int(HEAD) + 1:04d}"
    assert written.name == f"{following}_employee_email_longer_department_names.py"
    assert "add_column" in written.read_text() and "alter_column" in written.read_text()
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", str(written)], cwd=ROOT, capture_output=True)
    assert lint.returncode == 0, lint.stdout
    upgrade_schema(engine, migrations)
    with engine.connect() as conn:
        assert current_revision(conn) == following
        assert schema_differences(conn, changed) == []
        assert conn.execute(text("SELECT id, name, department_id, email FROM hired_employees")).all() == [
            (1, "Ada", 2, None)
        ]
        assert conn.execute(text("SELECT department FROM departments ORDER BY id")).scalars().all() == [
            "Staff",
            "Supply Chain",
        ]
    engine.dispose()


def test_two_processes_starting_on_an_empty_postgresql_database_take_turns_and_both_succeed(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as holder:
        holder.execute(select(func.pg_advisory_lock(POSTGRES_LOCK_KEY)))
        holder.commit()
        processes = start_init_db_twice(postgres_url, tmp_path)
        wait_until(
            lambda: holder.execute(waiting).scalar() == 2 or any_exited(processes),
            "both processes to wait for the migration lock",
        )
        holder.commit()
        holder.execute(select(func.pg_advisory_unlock(POSTGRES_LOCK_KEY)))
        holder.commit()
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]

    assert outcomes == [(0, ""), (0, "")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        assert schema_differences(conn) == []
    engine.dispose()


def test_two_processes_starting_on_an_empty_sqlite_database_take_turns_and_both_succeed(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    processes = start_init_db_twice(sqlite_url, tmp_path)
    # Both have opened the database: each is at its upgrade, which waits for this write lock.
    wait_until(
        lambda: all(opened(p.pid, path) for p in processes) or any_exited(processes), "both to open the database"
    )
    holder.execute("ROLLBACK")
    holder.close()
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]

    assert outcomes == [(0, ""), (0, "")]
    with connection(sqlite_url) as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        assert schema_differences(conn) == []


def any_exited(processes: list[subprocess.Popen[str]]) -> bool:
    return any(p.poll() is not None for p in processes)


def opened(pid: int, path: Path) -> bool:
    try:
        return any(Path(f"/proc/{pid}/fd/{fd}").resolve() == path.resolve() for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_a_database_a_newer_release_upgraded_is_refused_with_both_revisions(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9001'"))

    with pytest.raises(ConfigurationError, match=f"at schema revision 9001.*its newest is {HEAD}"):
        create_schema(engine)
    engine.dispose()
