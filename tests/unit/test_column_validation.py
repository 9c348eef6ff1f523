"""A restore checks a chunk of rows a column at a time; where that check takes a chunk, each row gets exactly the
values of the entity that validating it alone gives, and a chunk with any row that is not plainly valid is left
to the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.entities import DEPARTMENTS, HIRED_EMPLOYEES, JOBS, HiredEmployee, TableSpec
from domain.rules import MAX_ID, MAX_YEAR, MIN_YEAR
from tests.unit.test_fast_validation import datetimes, ids, names

# What an Avro backup gives: ints, strings, and datetimes in UTC; plainly valid ones, and others near every limit.
plain_ids = st.integers(min_value=1, max_value=MAX_ID)
plain_names = st.sampled_from(
    ["Harold Vogt", "Zoë Brontë", "Søren Hofer", "A", "x" * 100, "\U0001f600" * 50, "Jose\u0301"]
)
plain_moments = st.datetimes(min_value=datetime(MIN_YEAR, 1, 1), max_value=datetime(MAX_YEAR, 12, 31, 23, 59, 59)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
edge_ids = st.sampled_from([0, -1, MAX_ID + 1, 1, MAX_ID, True, 7.0, "7", None])
edge_moments = st.sampled_from(
    [
        datetime(MIN_YEAR, 1, 1, tzinfo=UTC),
        datetime(MIN_YEAR - 1, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC),
        datetime(2021, 11, 7, 2, 48, 42, tzinfo=timezone(timedelta(0))),
        datetime(2021, 11, 7, 2, 48, 42, tzinfo=timezone(timedelta(hours=2))),
        datetime(2021, 11, 7, 2, 48, 42),
        datetime(2021, 11, 7, 2, 48, 42, fold=1, tzinfo=UTC),
        "2021-11-07T02:48:42Z",
    ]
)
plain_employee = st.tuples(plain_ids, plain_names, plain_moments, plain_ids, plain_ids)
# For each column of an employee, values that may break its rule, or be valid in an unusual form.
EDGES = (st.one_of(edge_ids, ids), st.one_of(names, plain_names), st.one_of(edge_moments, datetimes), edge_ids, ids)


@st.composite
def employees_with_edges(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Plain rows, some with one value replaced by one near or past a limit of its rule."""
    rows = draw(st.lists(plain_employee, min_size=1, max_size=8))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, 4))
        values = list(rows[row])
        values[column] = draw(EDGES[column])
        rows[row] = tuple(values)
    return rows


def agrees(spec: TableSpec, rows: list[tuple[Any, ...]]) -> bool:
    """Whether the column check gives what validation row by row gives, or leaves the chunk to it."""
    together = spec.accept_all(rows)
    one_by_one = [spec.validate(row) for row in rows]
    if together is None:
        return True
    return together == one_by_one and all(type(row) is tuple for row in together)


@settings(max_examples=500)
@given(employees_with_edges())
@example([(1, " Ana Silva ", datetime(2021, 11, 7, 2, 48, 42, tzinfo=UTC), 2, 96)])
@example([(1, "Ana", datetime(2021, 11, 7, tzinfo=UTC), 2, 96), (2, "\u200b", datetime(2021, 11, 7, tzinfo=UTC), 2, 3)])
def test_a_chunk_of_backup_rows_gets_the_entities_each_row_gets_alone(rows: list[tuple[Any, ...]]) -> None:
    assert agrees(HIRED_EMPLOYEES, rows)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.one_of(plain_ids, plain_ids, ids), st.one_of(plain_names, names)), min_size=1, max_size=6))
def test_a_chunk_of_departments_or_jobs_gets_the_entities_each_row_gets_alone(rows: list[tuple[Any, ...]]) -> None:
    assert agrees(DEPARTMENTS, rows)
    assert agrees(JOBS, rows)


@settings(max_examples=300)
@given(employees_with_edges())
def test_a_chunk_with_a_row_that_breaks_a_rule_is_left_to_the_rows(rows: list[tuple[Any, ...]]) -> None:
    if any(type(HIRED_EMPLOYEES.validate(row)) is list for row in rows):
        assert HIRED_EMPLOYEES.accept_all(rows) is None


def test_plain_backup_rows_are_taken_a_column_at_a_time() -> None:
    rows = [
        (1, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42, 250000, tzinfo=UTC), 2, 96),
        (2, "Zoë Brontë", datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC), 1, 1),
        (MAX_ID, "x" * 100, datetime(MIN_YEAR, 1, 1, tzinfo=UTC), MAX_ID, MAX_ID),
    ]
    assert HIRED_EMPLOYEES.accept_all(rows) == [
        HiredEmployee(1, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42, 250000), 2, 96),
        HiredEmployee(2, "Zoë Brontë", datetime(MAX_YEAR, 12, 31, 23, 59, 59), 1, 1),
        HiredEmployee(MAX_ID, "x" * 100, datetime(MIN_YEAR, 1, 1), MAX_ID, MAX_ID),
    ]
    assert DEPARTMENTS.accept_all([(1, "Sales"), (2, "Zoë")]) == [(1, "Sales"), (2, "Zoë")]


def test_rows_of_the_wrong_length_or_none_at_all_are_left_to_the_rows() -> None:
    assert HIRED_EMPLOYEES.accept_all([]) is None
    assert DEPARTMENTS.accept_all([(1, "Sales"), (2, "Zoë", "extra")]) is None
    assert DEPARTMENTS.accept_all([(1,)]) is None


PLAIN = (7, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42, tzinfo=UTC), 2, 96)
JUST_INSIDE = [
    (0, 1),
    (0, MAX_ID),
    (1, "x" * 100),
    (1, " Ana "),
    (1, "\U0001f600" * 50),
    (2, datetime(MIN_YEAR, 1, 1, tzinfo=UTC)),
    (2, datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (3, MAX_ID),
    (4, 1),
]
JUST_OUTSIDE = [
    (0, 0),
    (0, MAX_ID + 1),
    (0, True),
    (1, "x" * 101),
    (1, "\U0001f600" * 51),
    (1, "   "),
    (1, "\u200b"),
    (1, "Ana\x85Silva"),
    (1, "abc\u202edcba"),
    (2, datetime(MIN_YEAR - 1, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (2, datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)),
    (2, datetime(2021, 11, 7, 2, 48, 42)),
    (3, -1),
    (4, MAX_ID + 1),
]


def with_value(column: int, value: object) -> tuple[Any, ...]:
    row = list(PLAIN)
    row[column] = value
    return tuple(row)


@pytest.mark.parametrize(("column", "value"), JUST_INSIDE)
def test_a_value_just_inside_a_limit_is_taken_a_column_at_a_time(column: int, value: object) -> None:
    rows = [PLAIN, with_value(column, value)]
    assert HIRED_EMPLOYEES.accept_all(rows) == [HIRED_EMPLOYEES.validate(row) for row in rows]


@pytest.mark.parametrize(("column", "value"), JUST_OUTSIDE)
def test_a_value_past_a_limit_leaves_the_chunk_to_the_rows_which_give_the_reason(column: int, value: object) -> None:
    rows = [PLAIN, with_value(column, value)]
    assert HIRED_EMPLOYEES.accept_all(rows) is None
    assert type(HIRED_EMPLOYEES.validate(rows[1])) is list
