"""CSV exports neutralise cells a spreadsheet would run as a formula (OWASP's CSV injection advice)."""

from __future__ import annotations

import csv
import io

import pytest

from core.csv_export import spreadsheet_safe
from core.reports.hiring import ABOVE_AVERAGE_COLUMNS, rows_as_csv


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=", "-"],
)
def test_text_that_starts_like_a_formula_gets_a_leading_apostrophe(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Sales", " =1+1", "1-2", "a@b.example", "'quoted", "", "Zoë", "ＳＵＭ"])
def test_other_text_is_left_as_it_is(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell


@pytest.mark.parametrize("number", [0, 7, -3, 2.5, -0.5])
def test_numbers_are_never_changed(number: float) -> None:
    assert spreadsheet_safe(number) == number


def test_a_report_as_csv_neutralises_formula_names_and_keeps_commas_and_quotes_in_one_cell() -> None:
    rows = [
        {"id": 1, "department": '=HYPERLINK("http://evil.example","Click")', "hired": 12},
        {"id": 2, "department": "-2+3,Sales", "hired": 0},
        {"id": 3, "department": "Research, Development", "hired": 5},
    ]

    text = rows_as_csv(ABOVE_AVERAGE_COLUMNS, rows)

    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "department", "hired"],
        ["1", '\'=HYPERLINK("http://evil.example","Click")', "12"],
        ["2", "'-2+3,Sales", "0"],
        ["3", "Research, Development", "5"],
    ]
    assert text.endswith("\r\n")
