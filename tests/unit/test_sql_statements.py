from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects import mssql

from infra.db.archive import (
    count_statement,
    delete_all_statement,
    delete_ids_statement,
    ids_statement,
    referenced_ids_statement,
    rows_by_id_statement,
    update_by_id_statement,
)
from infra.db.schema import HIRING_TABLES


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
