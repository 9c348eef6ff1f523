from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import mssql

from infra.db.hiring_rows import (
    delete_all_statement,
    delete_ids_statement,
    ids_statement,
    referenced_ids_statement,
    update_by_id_statement,
)
from infra.db.schema import HIRING_TABLES
from infra.db.snapshots import count_statement, rows_by_id_statement


def test_every_backup_and_restore_statement_compiles_for_sql_server() -> None:
    dialect = mssql.dialect()
    compiled = []
    for table in HIRING_TABLES.values():
        statements = [
            count_statement(table),
            rows_by_id_statement(table),
            ids_statement(table),
            delete_all_statement(table),
            delete_ids_statement(table),
            update_by_id_statement(table),
            insert(table),
        ]
        statements += [referenced_ids_statement(table, c.name) for c in table.columns if c.foreign_keys]
        compiled += [str(s.compile(dialect=dialect)) for s in statements]
    assert len(compiled) == 23
    assert "SELECT DISTINCT hired_employees.department_id" in "\n".join(compiled)
    assert "ORDER BY hired_employees.id" in "\n".join(compiled)


def test_restore_deletes_by_id_with_an_expanding_list() -> None:
    sql = str(delete_ids_statement(HIRING_TABLES["jobs"]).compile(dialect=mssql.dialect()))
    assert sql.startswith("DELETE FROM jobs WHERE jobs.id IN (__[POSTCOMPILE_ids])")


def test_the_schema_and_every_ingest_statement_compile_for_sql_server() -> None:
    from sqlalchemy import bindparam, select, update
    from sqlalchemy.schema import CreateIndex, CreateTable

    from infra.db.schema import ingest_checkpoints, metadata, rejected_rows

    dialect = mssql.dialect()
    ddl = [str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables]
    ddl += [str(CreateIndex(i).compile(dialect=dialect)) for t in metadata.sorted_tables for i in t.indexes]
    joined = "\n".join(ddl)
    assert "FOREIGN KEY(department_id) REFERENCES departments (id)" in joined
    assert "department NVARCHAR(100) NOT NULL" in joined
    assert "CREATE INDEX ix_hired_employees_datetime ON hired_employees (datetime)" in joined

    statements = [insert(rejected_rows), insert(ingest_checkpoints), select(ingest_checkpoints)]
    statements.append(update(ingest_checkpoints).where(ingest_checkpoints.c.job_id == "j").values(position=1))
    for table in HIRING_TABLES.values():
        statements.append(select(table).where(table.c.id.in_(bindparam("ids", expanding=True))))
        statements.append(insert(table))
    assert all(str(s.compile(dialect=dialect)) for s in statements)


def test_the_bulk_inserter_for_sql_server_uses_positional_executemany() -> None:
    from sqlalchemy.dialects.mssql import pyodbc

    from infra.db.hiring_rows import BulkInserter

    inserter = BulkInserter(pyodbc.dialect(paramstyle="qmark"), "hired_employees")  # pyodbc's own paramstyle
    assert not inserter.use_copy and inserter.positional
    assert (
        inserter.sql == "INSERT INTO hired_employees (id, name, datetime, department_id, job_id) VALUES (?, ?, ?, ?, ?)"
    )


def test_the_look_for_unfinished_jobs_in_a_tables_way_compiles_for_sql_server() -> None:
    from infra.db.job_rows import unfinished_statement

    sql = str(unfinished_statement(["restore"]).compile(dialect=mssql.dialect()))
    assert "background_jobs.state NOT IN (__[POSTCOMPILE_state_1])" in sql
    assert sql.endswith("ORDER BY background_jobs.created_at, background_jobs.id")


def test_every_name_the_rules_accept_fits_its_nvarchar_column_on_sql_server() -> None:
    from sqlalchemy.schema import CreateTable

    from domain.entities import TABLES
    from domain.rules import MAX_NAME_LENGTH, parse_name

    longest = ["x" * MAX_NAME_LENGTH, "x" * (MAX_NAME_LENGTH - 2) + "\U0001f600", "\U0001f600" * (MAX_NAME_LENGTH // 2)]
    for name in longest:
        assert parse_name(name, "name") == name
        assert len(name.encode("utf-16-le")) // 2 == MAX_NAME_LENGTH  # what SQL Server counts in an NVARCHAR
        assert not isinstance(parse_name(name + "x", "name"), str)
    for table, spec in TABLES.items():
        ddl = str(CreateTable(HIRING_TABLES[table]).compile(dialect=mssql.dialect()))
        for column in spec.columns:
            if column.parse is parse_name:
                assert f"{column.name} NVARCHAR({MAX_NAME_LENGTH}) NOT NULL" in ddl


def test_reading_rows_back_compiles_for_sql_server_with_top_and_the_id_order() -> None:
    from datetime import datetime

    from core.rows.ports import RowFilter
    from infra.db.rows import page_statement, row_statement

    dialect = mssql.dialect()
    every_filter = RowFilter(1, 500, 2, 3, datetime(2021, 1, 1), datetime(2022, 1, 1))
    paged = str(page_statement("hired_employees", every_filter, 100, 51).compile(dialect=dialect))
    assert paged.startswith("SELECT TOP __[POSTCOMPILE_param_1] hired_employees.id")
    assert paged.endswith("ORDER BY hired_employees.id")
    for name in ("department_id = ", "job_id = ", "datetime >= ", "datetime < ", "id > ", "id >= ", "id <= "):
        assert f"hired_employees.{name}" in paged
    assert str(row_statement("jobs", 7).compile(dialect=dialect)).endswith("WHERE jobs.id = :id_1")


def test_the_bulk_mode_ddl_compiles_for_sql_server_as_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql

    from infra.db.bulk import (
        add_foreign_key_statement,
        analyze_statement,
        create_index_statement,
        drop_foreign_key_statement,
        drop_index_statement,
        foreign_keys,
        secondary_indexes,
    )

    def compiled(dialect: Any) -> list[str]:
        name = dialect.name
        sql = [
            str(drop_index_statement(i, name).compile(dialect=dialect)) for i in secondary_indexes("hired_employees")
        ]
        sql += [
            str(create_index_statement(i, name).compile(dialect=dialect)) for i in secondary_indexes("hired_employees")
        ]
        for key in foreign_keys("hired_employees"):
            sql += [str(drop_foreign_key_statement(key).compile(dialect=dialect))]
            sql += [str(add_foreign_key_statement(key).compile(dialect=dialect))]
        return [s.strip() for s in sql] + [str(analyze_statement("hired_employees", name))]

    sql_server = compiled(mssql.dialect())
    assert "DROP INDEX ix_hired_employees_datetime ON hired_employees" in sql_server
    assert "CREATE INDEX ix_hired_employees_datetime ON hired_employees (datetime)" in sql_server
    add_key = "ALTER TABLE hired_employees ADD CONSTRAINT hired_employees_job_id_fkey FOREIGN KEY(job_id)"
    assert f"{add_key} REFERENCES jobs (id)" in sql_server
    assert "UPDATE STATISTICS hired_employees" in sql_server
    assert len(sql_server) == 3 + 3 + 2 * 2 + 1

    postgres = compiled(postgresql.dialect())
    assert "DROP INDEX IF EXISTS ix_hired_employees_datetime" in postgres
    assert "ALTER TABLE hired_employees DROP CONSTRAINT IF EXISTS hired_employees_department_id_fkey" in postgres
    assert any(s.endswith("REFERENCES departments (id) NOT VALID") for s in postgres)
    assert "ANALYZE hired_employees" in postgres
    assert foreign_keys("departments") == []
