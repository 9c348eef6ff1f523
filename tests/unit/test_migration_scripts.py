"""The revisions as files: one line of history, numbered in order, and SQL Server DDL compiled offline (no server)."""

from __future__ import annotations

import re

from alembic.script import ScriptDirectory

from infra.db.schema import metadata
from infra.db.upgrade import MIGRATIONS, alembic_config, head_revision, upgrade_sql
from main import main


def revisions_oldest_first() -> list:
    return list(reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())))


def test_the_revisions_form_one_line_numbered_in_order_each_file_named_after_its_number():
    revisions = revisions_oldest_first()

    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert [r.down_revision for r in revisions] == [None] + [r.revision for r in revisions[:-1]]
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert [p.name.split("_")[0] for p in files] == [r.revision for r in revisions]
    assert [p.name for p in files] == [r.path.rsplit("/", 1)[1] for r in revisions]
    assert head_revision() == revisions[-1].revision


def test_the_migrations_compile_for_sql_server_into_one_transaction_of_go_separated_batches():
    ddl = upgrade_sql("mssql")
    statements = [s.strip() for s in ddl.split("\nGO\n") if s.strip()]

    assert statements[0].startswith("BEGIN TRANSACTION;") and statements[-1] == "COMMIT;"
    for table in metadata.sorted_tables:
        assert re.search(rf"^CREATE TABLE {table.name} \(", ddl, re.MULTILINE), table.name
        for index in table.indexes:
            columns = ", ".join(c.name for c in index.columns)
            assert f"CREATE INDEX {index.name} ON {table.name} ({columns});" in ddl
    assert "DROP TABLE hireflow_schema;" in ddl
    assert f"SET version_num='{head_revision()}'" in statements[-2]


def test_the_sql_server_ddl_uses_the_types_a_live_azure_sql_connection_gets():
    ddl = upgrade_sql("mssql")

    assert "id BIGINT NOT NULL IDENTITY" in ddl  # rejected_rows
    assert "department NVARCHAR(100) NOT NULL" in ddl and "raw_record NVARCHAR(max) NOT NULL" in ddl
    assert "[percent] FLOAT NOT NULL" in ddl and "cancel_requested BIT NOT NULL" in ddl
    assert "NTEXT" not in ddl and "IDENTITY_INSERT" not in ddl


def test_db_sql_prints_the_ddl_after_a_revision_for_a_dba(capsys):
    assert main(["db", "sql", "--dialect", "mssql", "--from", "0003"]) == 0

    printed = capsys.readouterr().out
    assert "DROP TABLE hireflow_schema;" in printed and "CREATE TABLE ingest_batches" in printed
    assert "CREATE TABLE departments" not in printed and "CREATE TABLE background_jobs" not in printed
