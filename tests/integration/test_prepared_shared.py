"""``Prepared.run_many_shared`` (infra/db/prepared.py) stores exactly what ``run_many`` stores: on SQLite through
positional rows with the shared values converted once, on PostgreSQL through named parameters, row by row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from infra.db.engine import create_schema, make_engine
from infra.db.ingest_log import _ADD_REJECTED, _REJECTED_COLUMNS
from infra.db.schema import rejected_rows

WHEN = datetime(2021, 11, 7, 2, 48, 42, 123456)


def test_rows_with_shared_values_are_stored_as_run_many_stores_them(database_url: str) -> None:
    engine = make_engine(database_url)
    create_schema(engine)
    rows = [
        ("job-a", batch, "hired_employees", "files/é.csv", 10 + batch, f"{batch},Ana,,1,1", '[{"code": "missing"}]')
        for batch in range(1, 4)
    ]
    with engine.connect() as conn:
        statement = _ADD_REJECTED(conn.dialect)
        statement.run_many_shared(conn, {"created_at": WHEN}, _REJECTED_COLUMNS[:-1], rows)
        statement.run_many(conn, [dict(zip(_REJECTED_COLUMNS, (*row, WHEN), strict=True)) for row in rows])
        conn.commit()
        columns = [rejected_rows.c[name] for name in _REJECTED_COLUMNS]
        stored = [tuple(row) for row in conn.execute(select(*columns).order_by(rejected_rows.c.id))]
    engine.dispose()
    expected = [(*row, WHEN) for row in rows]
    assert stored == expected + expected
