from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.dialects import mssql, postgresql, sqlite

from core.ingest.loader import ingest_sources, insert_records
from core.reports.hiring import hired_by_quarter, hiring_above_average
from domain.entities import TABLES
from infra.db.engine import create_schema, make_engine
from infra.db.reports import SqlReportQueries, hires_by_department_statement, hires_by_quarter_statement
from infra.db.unit_of_work import SqlDatabase
from infra.storage.local import LocalFolderStorage
from tests import challenge


def load_challenge(url: str, folder: Path) -> SqlReportQueries:
    engine = make_engine(url)
    create_schema(engine)
    ingest_sources(SqlDatabase(engine), LocalFolderStorage(folder), {t: f"{t}.csv" for t in TABLES})
    return SqlReportQueries(engine)


def empty_database(url: str) -> tuple[SqlDatabase, SqlReportQueries]:
    engine = make_engine(url)
    create_schema(engine)
    return SqlDatabase(engine), SqlReportQueries(engine)


@pytest.fixture
def challenge_queries(database_url: str, challenge_dir: Path) -> SqlReportQueries:
    queries = load_challenge(database_url, challenge_dir)
    yield queries
    queries.engine.dispose()


def test_every_2021_hire_is_counted_in_exactly_one_quarter(
    challenge_queries: SqlReportQueries, challenge_dir: Path
) -> None:
    rows = hired_by_quarter(challenge_queries, 2021).rows

    assert sum(r.Q1 + r.Q2 + r.Q3 + r.Q4 for r in rows) == len(challenge.hires_in(challenge_dir, 2021))


def test_each_quarter_total_matches_the_csv(challenge_queries: SqlReportQueries, challenge_dir: Path) -> None:
    expected = [0, 0, 0, 0]
    for _department, _job, moment in challenge.hires_in(challenge_dir, 2021):
        expected[(moment.month - 1) // 3] += 1

    rows = hired_by_quarter(challenge_queries, 2021).rows

    assert [sum(getattr(r, q) for r in rows) for q in ("Q1", "Q2", "Q3", "Q4")] == expected


def test_hand_checked_rows_of_the_quarterly_report(challenge_queries: SqlReportQueries) -> None:
    rows = {(r.department, r.job): r.as_dict() for r in hired_by_quarter(challenge_queries, 2021).rows}

    assert rows[("Support", "Systems Administrator IV")] == {
        "department": "Support",
        "job": "Systems Administrator IV",
        "Q1": 2,
        "Q2": 4,
        "Q3": 0,
        "Q4": 2,
    }
    assert rows[("Services", "Programmer IV")] == {
        "department": "Services",
        "job": "Programmer IV",
        "Q1": 2,
        "Q2": 3,
        "Q3": 0,
        "Q4": 3,
    }
    assert rows[("Accounting", "Account Representative IV")]["Q1"] == 1
    assert rows[("Engineering", "Structural Analysis Engineer")]["Q3"] == 1


def test_the_quarterly_report_starts_with_accounting_and_is_in_name_order(
    challenge_queries: SqlReportQueries, challenge_dir: Path
) -> None:
    rows = hired_by_quarter(challenge_queries, 2021).rows
    keys = [(r.department, r.job) for r in rows]
    names = challenge.departments(challenge_dir), challenge.jobs(challenge_dir)
    expected_pairs = {(names[0][d], names[1][j]) for d, j, _moment in challenge.hires_in(challenge_dir, 2021)}

    assert keys[0] == ("Accounting", "Account Representative IV")
    assert keys == sorted(expected_pairs)


def test_above_average_matches_an_independent_count_of_the_csv(
    challenge_queries: SqlReportQueries, challenge_dir: Path
) -> None:
    per_department = challenge.hires_per_department(challenge_dir, 2021)
    names = challenge.departments(challenge_dir)
    mean = sum(per_department.values()) / len(names)
    expected = sorted(
        ({"id": d, "department": names[d], "hired": n} for d, n in per_department.items() if n > mean),
        key=lambda r: (-r["hired"], r["id"]),
    )

    report = hiring_above_average(challenge_queries, 2021)

    assert report.mean == pytest.approx(mean)
    assert [r.as_dict() for r in report.rows] == expected


def test_hand_checked_above_average_departments_in_2021(challenge_queries: SqlReportQueries) -> None:
    report = hiring_above_average(challenge_queries, 2021)

    assert report.mean == 1643 / 12
    assert [(r.department, r.hired) for r in report.rows][:2] == [("Support", 216), ("Engineering", 205)]


def test_a_year_without_hires_gives_empty_reports(challenge_queries: SqlReportQueries) -> None:
    assert hired_by_quarter(challenge_queries, 1999).rows == []
    report = hiring_above_average(challenge_queries, 1999)
    assert (report.mean, report.rows) == (0.0, [])


def test_quarters_split_at_midnight_utc_whatever_the_offset_written(database_url: str) -> None:
    store, queries = empty_database(database_url)
    insert_records(store, "departments", [(1, {"id": 1, "department": "Staff"})])
    insert_records(store, "jobs", [(1, {"id": 1, "job": "Clerk"})])
    moments = [
        "2020-12-31T23:59:59Z",
        "2021-01-01T00:00:00Z",
        "2021-03-31T23:59:59.999999Z",
        "2021-04-01T01:30:00+02:00",
        "2021-04-01T00:00:00Z",
        "2021-09-30T23:59:59Z",
        "2021-10-01T00:00:00Z",
        "2021-12-31T23:59:59Z",
        "2022-01-01T00:00:00Z",
    ]
    employees = [
        (n, {"id": n, "name": f"Person {n}", "datetime": m, "department_id": 1, "job_id": 1})
        for n, m in enumerate(moments, start=1)
    ]
    insert_records(store, "hired_employees", employees)

    rows = hired_by_quarter(queries, 2021).as_dict()["rows"]

    assert rows == [{"department": "Staff", "job": "Clerk", "Q1": 3, "Q2": 1, "Q3": 1, "Q4": 2}]
    queries.engine.dispose()


def test_names_are_ordered_by_code_point_on_every_backend(database_url: str) -> None:
    store, queries = empty_database(database_url)
    names = ["support", "Support", "Évora", "Zeta", "alpha", "Alpha beta", "Alpha-gamma", "Alphabet"]
    insert_records(store, "departments", [(n, {"id": n, "department": d}) for n, d in enumerate(names, start=1)])
    insert_records(store, "jobs", [(1, {"id": 1, "job": "Clerk"})])
    employees = [
        (n, {"id": n, "name": "Ann", "datetime": "2021-05-05T00:00:00Z", "department_id": n, "job_id": 1})
        for n in range(1, len(names) + 1)
    ]
    insert_records(store, "hired_employees", employees)

    rows = hired_by_quarter(queries, 2021).rows

    assert [r.department for r in rows] == [
        "Alpha beta",
        "Alpha-gamma",
        "Alphabet",
        "Support",
        "Zeta",
        "alpha",
        "support",
        "Évora",
    ]
    queries.engine.dispose()


def test_both_backends_give_byte_identical_json(sqlite_url: str, postgres_url: str, challenge_dir: Path) -> None:
    def answers(url: str) -> list[bytes]:
        queries = load_challenge(url, challenge_dir)
        reports = [
            report(queries, year) for year in (2021, 2022) for report in (hired_by_quarter, hiring_above_average)
        ]
        queries.engine.dispose()
        return [json.dumps(r.as_dict(), ensure_ascii=False).encode() for r in reports]

    assert answers(sqlite_url) == answers(postgres_url)


@pytest.mark.parametrize("dialect", [mssql.dialect(), postgresql.dialect(), sqlite.dialect()], ids=lambda d: d.name)
def test_every_report_statement_compiles_for_each_dialect(dialect: object) -> None:
    for statement in (hires_by_quarter_statement(2021), hires_by_department_statement(2021)):
        sql = str(statement.compile(dialect=dialect))  # type: ignore[arg-type]

        assert "hired_employees.datetime >=" in sql
        assert "strftime" not in sql.lower() and "month(" not in sql.lower()
