"""The CSV quirks a real export has, each read the way a person would expect."""

from __future__ import annotations

import io

import pytest

from core.ingest.csv_source import csv_records
from domain.rules import Reason


def read(data: bytes, limit: int | None = None) -> list[tuple[int, object]]:
    if limit is None:
        return list(csv_records(io.BytesIO(data)))
    return list(csv_records(io.BytesIO(data), limit=limit))


def test_plain_lines_become_numbered_records() -> None:
    assert read(b"1,Sales\n2,Legal\n") == [(1, ["1", "Sales"]), (2, ["2", "Legal"])]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_id() -> None:
    assert read(b"\xef\xbb\xbf1,Sales\n") == [(1, ["1", "Sales"])]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_crlf_cr_and_lf_line_ends_all_separate_records(ending: bytes) -> None:
    assert read(b"1,Sales" + ending + b"2,Legal" + ending) == [(1, ["1", "Sales"]), (2, ["2", "Legal"])]


def test_a_missing_final_newline_keeps_the_last_record() -> None:
    assert read(b"1,Sales\n2,Legal") == [(1, ["1", "Sales"]), (2, ["2", "Legal"])]


def test_quoted_fields_may_hold_commas_quotes_and_newlines() -> None:
    data = b'1,"Research, and Development"\n2,"The ""Best"" Team"\n3,"two\nlines"\n4,Legal\n'
    assert read(data) == [
        (1, ["1", "Research, and Development"]),
        (2, ["2", 'The "Best" Team']),
        (3, ["3", "two\nlines"]),
        (5, ["4", "Legal"]),
    ]


def test_a_space_after_the_comma_does_not_break_a_quoted_field() -> None:
    assert read(b'1, "Supply, Chain"\n') == [(1, ["1", "Supply, Chain"])]


def test_blank_lines_carry_no_record_and_keep_line_numbers_true() -> None:
    assert read(b"1,Sales\n\n   \n2,Legal\n") == [(1, ["1", "Sales"]), (4, ["2", "Legal"])]


def test_bytes_that_are_not_utf8_stay_in_their_own_row_only() -> None:
    records = read(b"1,Sales\n2,Bad\xff\xfeName\n3,Legal\n")
    assert records[0] == (1, ["1", "Sales"])
    assert records[1][1][1] == "Bad\udcff\udcfeName"  # type: ignore[index]
    assert records[2] == (3, ["3", "Legal"])


def test_an_over_long_line_is_reported_and_the_next_line_is_read() -> None:
    records = read(b"1,Sales\n2," + b"x" * 5000 + b"\n3,Legal\n", limit=1000)
    assert records[0] == (1, ["1", "Sales"])
    position, reason = records[1]
    assert position == 2 and isinstance(reason, Reason) and reason.code == "line_too_long"
    assert records[2] == (3, ["3", "Legal"])


def test_an_empty_file_has_no_records() -> None:
    assert read(b"") == []
    assert read(b"\xef\xbb\xbf") == []
