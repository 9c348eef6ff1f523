from __future__ import annotations

from sqlalchemy import select, text

from core.ingest.loader import insert_records
from infra.db.engine import create_schema, make_engine
from infra.db.schema import hired_employees
from infra.db.unit_of_work import SqlDatabase


def test_sqlite_stores_hire_times_in_the_text_form_sqlalchemy_compares_with(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    create_schema(engine)
    store = SqlDatabase(engine)
    insert_records(store, "departments", [(1, {"id": 1, "department": "Staff"})])
    insert_records(store, "jobs", [(1, {"id": 1, "job": "Clerk"})])
    employee = {"id": 1, "name": "Ann", "datetime": "2021-04-01T00:00:00Z", "department_id": 1, "job_id": 1}
    insert_records(store, "hired_employees", [(1, employee)])

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT datetime FROM hired_employees")).scalar_one()
        found = conn.execute(select(hired_employees.c.id).where(hired_employees.c.datetime >= "2021-04-01")).all()

    assert stored == "2021-04-01 00:00:00.000000"
    assert found == [(1,)]
    engine.dispose()
