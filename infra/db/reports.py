"""``SqlReportQueries``: the report aggregates as SQLAlchemy Core statements, portable across dialects."""

from __future__ import annotations

from sqlalchemy import Engine, Select, case, func, literal, select, union_all

from core.reports.ports import DepartmentHires, QuarterHires, ReportQueries, year_bounds
from infra.db.engine import connect
from infra.db.schema import departments, hired_employees, jobs

he = hired_employees.c


def hires_by_quarter_statement(year: int) -> Select[int, str, int, str, int, int, int, int]:
    """Half-open datetime ranges rather than date functions: the same SQL meaning everywhere, and index-friendly.

    Each quarter is counted on its own, by department and job, then the four counts side by side: a count of
    one datetime range is a walk along the (department, job, datetime) index, where four conditional counts over
    the year evaluate eight comparisons a hire (1 000 000 hires on SQLite: 100–150 ms against 280–380 ms).
    """
    bounds = year_bounds(year)
    per_quarter = union_all(
        *(
            select(he.department_id, he.job_id, literal(number).label("quarter"), func.count().label("hired"))
            .where(he.datetime >= start, he.datetime < end)
            .group_by(he.department_id, he.job_id)
            for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False), start=1)
        )
    ).subquery("per_quarter")
    counted = per_quarter.c
    quarters = [
        func.sum(case((counted.quarter == number, counted.hired), else_=0)).label(f"Q{number}")
        for number in range(1, len(bounds))
    ]
    return (
        select(
            departments.c.id.label("department_id"),
            departments.c.department,
            jobs.c.id.label("job_id"),
            jobs.c.job,
            *quarters,
        )
        .select_from(
            per_quarter.join(departments, departments.c.id == counted.department_id).join(
                jobs, jobs.c.id == counted.job_id
            )
        )
        .group_by(departments.c.id, departments.c.department, jobs.c.id, jobs.c.job)
    )


def hires_by_department_statement(year: int) -> Select[int, str, int]:
    """The year's hires counted once per department, then every department joined to its count (0 if none)."""
    bounds = year_bounds(year)
    counts = (
        select(he.department_id, func.count(he.id).label("hired"))
        .where(he.datetime >= bounds[0], he.datetime < bounds[-1])
        .group_by(he.department_id)
        .subquery()
    )
    return select(
        departments.c.id, departments.c.department, func.coalesce(counts.c.hired, 0).label("hired")
    ).select_from(departments.outerjoin(counts, counts.c.department_id == departments.c.id))


class SqlReportQueries(ReportQueries):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hires_by_quarter(self, year: int) -> list[QuarterHires]:
        with connect(self.engine) as conn:
            rows = conn.execute(hires_by_quarter_statement(year)).all()
        return [
            QuarterHires(int(d_id), str(dept), int(j_id), str(job), int(q1), int(q2), int(q3), int(q4))
            for d_id, dept, j_id, job, q1, q2, q3, q4 in rows
        ]

    def hires_by_department(self, year: int) -> list[DepartmentHires]:
        with connect(self.engine) as conn:
            rows = conn.execute(hires_by_department_statement(year)).all()
        return [DepartmentHires(int(d_id), str(dept), int(hired)) for d_id, dept, hired in rows]
