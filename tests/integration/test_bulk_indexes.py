"""Bulk mode's DDL on the real databases: what it drops, that it builds all of it back, and what stays meanwhile."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError

from core.ingest.loader import ingest_sources
from core.sample import write_sample
from domain.entities import TABLES
from infra.db.bulk import build_missing_secondary, build_secondary, drop_secondary
from infra.db.engine import create_schema, make_engine
from infra.db.schema import departments, hired_employees, jobs
from infra.db.unit_of_work import SqlDatabase
from infra.storage.local import LocalFolderStorage

SECONDARY = {
    "ix_hired_employees_datetime",
    "ix_hired_employees_department_job_datetime",
    "ix_hired_employees_department_datetime",
}


def test_the_secondary_indexes_are_dropped_and_built_back_with_the_primary_key_kept_meanwhile(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(departments), [{"id": 1, "department": "Staff"}])
        conn.execute(insert(jobs), [{"id": 1, "job": "Recruiter"}])
        dropped = drop_secondary(conn, "hired_employees")
        assert drop_secondary(conn, "hired_employees") == []
    postgres = engine.dialect.name == "postgresql"
    keys = {"hired_employees_department_id_fkey", "hired_employees_job_id_fkey"} if postgres else set()
    assert set(dropped) == SECONDARY | keys
    with engine.connect() as conn:
        assert not {i["name"] for i in inspect(conn).get_indexes("hired_employees")} & SECONDARY
        assert bool(inspect(conn).get_foreign_keys("hired_employees")) is not postgres

    row = {"id": 1, "name": "Ada", "datetime": datetime(2021, 3, 1), "department_id": 1, "job_id": 1}
    with engine.begin() as conn:
        conn.execute(insert(hired_employees), [row])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(hired_employees), [{**row, "name": "Bea"}])

    with engine.begin() as conn:
        assert set(build_secondary(conn, "hired_employees")) == SECONDARY | keys
        assert build_secondary(conn, "hired_employees") == []
    assert build_missing_secondary(engine) == {}
    with engine.connect() as conn:
        assert {i["name"] for i in inspect(conn).get_indexes("hired_employees")} >= SECONDARY
        assert len(inspect(conn).get_foreign_keys("hired_employees")) == 2
        if postgres:
            checked = "SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f'"
            assert conn.execute(text(checked)).scalar_one() is True
    engine.dispose()


def test_a_drop_rolled_back_with_its_transaction_leaves_every_index(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.connect() as conn:
        drop_secondary(conn, "hired_employees")
        conn.rollback()
    assert build_missing_secondary(engine) == {}
    engine.dispose()


def test_a_load_ends_with_the_tables_statistics_refreshed(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    storage = LocalFolderStorage(tmp_path)
    write_sample(storage, employees=300)
    ingest_sources(SqlDatabase(engine), storage, {t: f"{t}.csv" for t in TABLES}, job_id="job-1")

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            analysed = "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'hired_employees' AND idx LIKE 'ix_%'"
            assert conn.execute(text(analysed)).scalar_one() == 3
        else:
            analysed = "SELECT reltuples FROM pg_class WHERE relname = 'hired_employees'"
            assert conn.execute(text(analysed)).scalar_one() > 0
    engine.dispose()
