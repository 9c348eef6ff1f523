"""Reading rows back, on a fake of the row queries: pages end where the rows end, and bad asks are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from core.rows.ports import RowFilter, RowQueries
from core.rows.read import read_row, read_rows
from domain.errors import InvalidRequest, RowNotFound, UnknownTable


class FakeRowQueries(RowQueries):
    def __init__(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        self.rows = rows
        self.asked: list[tuple[str, int]] = []

    def page(self, table: str, filters: RowFilter, after_id: int, limit: int) -> list[tuple[Any, ...]]:
        self.asked.append((table, limit))
        low = max(after_id + 1, filters.min_id or 0)
        high = filters.max_id if filters.max_id is not None else float("inf")
        return [row for row in sorted(self.rows[table]) if low <= row[0] <= high][:limit]

    def one(self, table: str, row_id: int) -> tuple[Any, ...] | None:
        self.asked.append((table, row_id))
        return next((row for row in self.rows[table] if row[0] == row_id), None)


JOBS = FakeRowQueries({"jobs": [(n, f"Job {n}") for n in (3, 1, 2, 5, 8)]})


def test_a_full_page_says_where_the_next_one_starts_and_the_last_page_says_none():
    first = read_rows(JOBS, "jobs", RowFilter(), limit=3)
    last = read_rows(JOBS, "jobs", RowFilter(), after_id=first.next_after_id or 0, limit=3)

    assert [row["id"] for row in first.items] == [1, 2, 3] and first.next_after_id == 3
    assert last.items == [{"id": 5, "job": "Job 5"}, {"id": 8, "job": "Job 8"}] and last.next_after_id is None


def test_a_page_that_ends_exactly_on_the_last_row_has_no_next_page():
    page = read_rows(JOBS, "jobs", RowFilter(min_id=2, max_id=5), limit=3)

    assert [row["id"] for row in page.items] == [2, 3, 5] and page.next_after_id is None


def test_employee_filters_on_another_table_and_a_limit_out_of_range_are_refused():
    with pytest.raises(InvalidRequest, match="jobs has no department_id, hired_from"):
        read_rows(JOBS, "jobs", RowFilter(department_id=1, hired_from=datetime(2021, 1, 1)))
    with pytest.raises(InvalidRequest, match="limit"):
        read_rows(JOBS, "jobs", RowFilter(), limit=1001)
    with pytest.raises(UnknownTable):
        read_rows(JOBS, "employees", RowFilter())


def test_one_row_by_id_and_a_missing_or_impossible_id_is_not_found_without_asking_for_the_impossible():
    queries = FakeRowQueries({"jobs": [(1, "Job 1")]})

    assert read_row(queries, "jobs", 1) == {"id": 1, "job": "Job 1"}
    with pytest.raises(RowNotFound, match="jobs has no row with id 4"):
        read_row(queries, "jobs", 4)
    with pytest.raises(RowNotFound):
        read_row(queries, "jobs", 2**31)
    assert queries.asked == [("jobs", 1), ("jobs", 4)]
