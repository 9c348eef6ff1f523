from __future__ import annotations

import pytest

from core.reports.hiring import hired_by_quarter, hiring_above_average
from core.reports.ports import DepartmentHires, QuarterHires, ReportQueries, year_bounds
from domain.errors import InvalidRequest


class FakeReportQueries(ReportQueries):
    def __init__(self, quarters: list[QuarterHires] = (), departments: list[DepartmentHires] = ()) -> None:  # type: ignore[assignment]
        self.quarters = list(quarters)
        self.departments = list(departments)
        self.years: list[int] = []

    def hires_by_quarter(self, year: int) -> list[QuarterHires]:
        self.years.append(year)
        return list(self.quarters)

    def hires_by_department(self, year: int) -> list[DepartmentHires]:
        self.years.append(year)
        return list(self.departments)


def quarter(department: str, job: str, q1: int = 0, q2: int = 0, q3: int = 0, q4: int = 0, ids=(1, 1)) -> QuarterHires:
    return QuarterHires(ids[0], department, ids[1], job, q1, q2, q3, q4)


def test_quarter_rows_come_in_code_point_order_of_department_then_job() -> None:
    queries = FakeReportQueries(
        quarters=[
            quarter("sales", "Analyst"),
            quarter("Sales", "zookeeper"),
            quarter("Sales", "Zookeeper"),
            quarter("Évora office", "Analyst"),
            quarter("Sales", "Analyst"),
        ]
    )

    rows = hired_by_quarter(queries, 2021).rows

    assert [(r.department, r.job) for r in rows] == [
        ("Sales", "Analyst"),
        ("Sales", "Zookeeper"),
        ("Sales", "zookeeper"),
        ("sales", "Analyst"),
        ("Évora office", "Analyst"),
    ]


def test_departments_sharing_a_name_stay_apart_in_id_order() -> None:
    queries = FakeReportQueries(
        quarters=[quarter("Sales", "Analyst", 1, ids=(9, 1)), quarter("Sales", "Analyst", 2, ids=(3, 1))]
    )

    assert [r.department_id for r in hired_by_quarter(queries, 2021).rows] == [3, 9]


def test_the_report_shape_has_the_challenge_keys() -> None:
    queries = FakeReportQueries(quarters=[quarter("Staff", "Manager", 1, 2, 3, 4)])

    assert hired_by_quarter(queries, 2021).as_dict() == {
        "year": 2021,
        "rows": [{"department": "Staff", "job": "Manager", "Q1": 1, "Q2": 2, "Q3": 3, "Q4": 4}],
    }


def test_the_mean_counts_every_department_even_those_that_hired_nobody() -> None:
    queries = FakeReportQueries(
        departments=[DepartmentHires(1, "Sales", 6), DepartmentHires(2, "Legal", 0), DepartmentHires(3, "Support", 3)]
    )

    report = hiring_above_average(queries, 2021)

    assert report.mean == 3.0
    assert [r.department for r in report.rows] == ["Sales"]


def test_a_department_exactly_at_the_mean_is_not_above_it() -> None:
    queries = FakeReportQueries(departments=[DepartmentHires(1, "Sales", 2), DepartmentHires(2, "Legal", 2)])

    assert hiring_above_average(queries, 2021).rows == []


def test_above_average_rows_go_from_most_hires_down_with_ties_by_id() -> None:
    queries = FakeReportQueries(
        departments=[
            DepartmentHires(7, "Support", 10),
            DepartmentHires(2, "Sales", 10),
            DepartmentHires(5, "Legal", 12),
            DepartmentHires(1, "Training", 0),
            DepartmentHires(3, "Services", 0),
        ]
    )

    report = hiring_above_average(queries, 2021)

    assert report.as_dict() == {
        "year": 2021,
        "mean": 6.4,
        "rows": [
            {"id": 5, "department": "Legal", "hired": 12},
            {"id": 2, "department": "Sales", "hired": 10},
            {"id": 7, "department": "Support", "hired": 10},
        ],
    }


def test_no_departments_means_a_zero_mean_and_no_rows() -> None:
    report = hiring_above_average(FakeReportQueries(), 2021)

    assert (report.mean, report.rows) == (0.0, [])


def test_the_year_defaults_to_2021() -> None:
    queries = FakeReportQueries()

    hired_by_quarter(queries)
    hiring_above_average(queries)

    assert queries.years == [2021, 2021]


@pytest.mark.parametrize("year", [1899, 2101, -1, "2021", 2021.0, True, None])
def test_a_year_that_is_not_a_whole_number_between_1900_and_2100_is_refused(year: object) -> None:
    with pytest.raises(InvalidRequest):
        hired_by_quarter(FakeReportQueries(), year)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        hiring_above_average(FakeReportQueries(), year)  # type: ignore[arg-type]


def test_quarters_are_half_open_ranges_that_cover_the_year() -> None:
    bounds = year_bounds(2024)

    assert [b.isoformat() for b in bounds] == [
        "2024-01-01T00:00:00",
        "2024-04-01T00:00:00",
        "2024-07-01T00:00:00",
        "2024-10-01T00:00:00",
        "2025-01-01T00:00:00",
    ]
