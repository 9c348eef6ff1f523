"""Every rule of the data dictionary, each with a failing and a passing example."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.entities import DEPARTMENTS, HIRED_EMPLOYEES, JOBS, Department, HiredEmployee, table_spec
from domain.errors import UnknownTable
from domain.rules import Reason, parse_datetime, parse_id, parse_name


def code_of(result: object) -> str | None:
    return result.code if isinstance(result, Reason) else None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "missing"),
        ("   ", "missing"),
        (None, "missing"),
        ("abc", "not_an_integer"),
        ("1.5", "not_an_integer"),
        (1.5, "not_an_integer"),
        (7.0, "not_an_integer"),
        ("-3", "not_an_integer"),
        ("+3", "not_an_integer"),
        ("1e3", "not_an_integer"),
        ("٣", "not_an_integer"),  # an Arabic-Indic digit is a digit, but not an integer written as one
        ("0", "out_of_range"),
        (0, "out_of_range"),
        (-3, "out_of_range"),
        ("2147483648", "out_of_range"),
        (2**31, "out_of_range"),
        ("99999999999999999999999", "out_of_range"),
        (True, "wrong_type"),
        ([1], "wrong_type"),
        ({"id": 1}, "wrong_type"),
    ],
)
def test_an_id_that_is_not_a_positive_32_bit_integer_is_refused(raw: object, code: str) -> None:
    assert code_of(parse_id(raw, "id")) == code


@pytest.mark.parametrize(("raw", "value"), [("1", 1), (" 42 ", 42), (42, 42), ("2147483647", 2**31 - 1)])
def test_an_id_written_as_an_integer_is_accepted(raw: object, value: int) -> None:
    assert parse_id(raw, "id") == value


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "missing"),
        ("  \t ", "missing"),
        (None, "missing"),
        ("x" * 101, "too_long"),
        ("Ana\x00Silva", "control_characters"),
        ("Ana\nSilva", "control_characters"),
        ("Ana\x85Silva", "control_characters"),
        ("Ana\udcffSilva", "invalid_encoding"),
        (12, "wrong_type"),
        (["Ana"], "wrong_type"),
        ("\U0001f600" * 51, "too_long"),  # 51 characters, 102 UTF-16 units: NVARCHAR(100) could not hold it
        ("x" * 99 + "\U0001f600", "too_long"),
    ],
)
def test_a_name_that_is_empty_too_long_or_has_control_characters_is_refused(raw: object, code: str) -> None:
    assert code_of(parse_name(raw, "name")) == code


@pytest.mark.parametrize(
    "raw",
    [
        "\u200b",  # zero-width space
        "\u200b\u200c\u200d\u2060",  # zero-width space, non-joiner, joiner, word joiner
        "\ufeff",  # byte-order mark
        "\u3164",  # Hangul filler
        "\u115f\u1160 \uffa0",  # Hangul choseong and jungseong fillers, halfwidth filler
        "\u2800",  # braille pattern blank
        "\u00ad",  # soft hyphen
        "\u0301\u0308",  # combining marks with nothing to sit on
        "\ufe0f",  # variation selector
        "\U000e0041\U000e0042",  # tag characters
        "\u200b \u3000 \ufeff",  # mixed with spaces, including the ideographic space
    ],
)
def test_a_name_with_no_visible_character_is_refused_with_its_own_reason(raw: str) -> None:
    result = parse_name(raw, "name")
    assert isinstance(result, Reason) and result.code == "no_visible_characters"
    assert result.field == "name" and "no visible character" in result.message


@pytest.mark.parametrize(
    "raw",
    [
        "abc\u202edcba",  # right-to-left override: displays as abcabcd
        "\u202e",
        "Ana \u202aSilva\u202c",  # embedding and pop
        "Ana \u2066Silva\u2069",  # isolate and pop
        "Ana\u200fSilva",  # right-to-left mark
        "Ana\u200eSilva",  # left-to-right mark
        "\u061cAna",  # Arabic letter mark
    ],
)
def test_a_name_with_a_bidirectional_control_character_is_refused_with_its_own_reason(raw: str) -> None:
    result = parse_name(raw, "name")
    assert isinstance(result, Reason) and result.code == "bidi_control_characters"


def test_a_name_of_100_utf16_units_is_accepted_even_with_characters_beyond_the_basic_plane() -> None:
    name = "x" * 98 + "\U0001f600"  # 99 characters, 100 UTF-16 units
    assert parse_name(name, "name") == name
    assert parse_name("\U0001f600" * 50, "name") == "\U0001f600" * 50


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (" Supply Chain", "Supply Chain"),
        ("x" * 100, "x" * 100),
        ("Zoë Brontë", "Zoë Brontë"),
        ("Robert'); DROP TABLE jobs;--", "Robert'); DROP TABLE jobs;--"),
        ("\u05d3\u05d5\u05d3 Cohen", "\u05d3\u05d5\u05d3 Cohen"),  # right-to-left script with no control character
        ("Jos\u0065\u0301", "Jos\u0065\u0301"),  # a combining accent on a letter
        ("Ana\u00a0Silva", "Ana\u00a0Silva"),
        ("\u674e\u5c0f\u9f8d", "\u674e\u5c0f\u9f8d"),
        ("\U0001f600", "\U0001f600"),
    ],
)
def test_a_name_is_trimmed_and_kept_as_written(raw: str, value: str) -> None:
    assert parse_name(raw, "name") == value


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "missing"),
        (None, "missing"),
        ("2021-02-30T00:00:00Z", "invalid_datetime"),
        ("2021-13-01T00:00:00Z", "invalid_datetime"),
        ("yesterday", "invalid_datetime"),
        ("2021-11-07T02:48:42", "missing_timezone"),
        ("2021-11-07", "missing_timezone"),
        ("1850-01-01T00:00:00Z", "out_of_range"),
        ("0001-01-01T00:00:00+14:00", "out_of_range"),
        (20211107, "wrong_type"),
    ],
)
def test_a_datetime_that_is_not_iso_8601_with_a_timezone_is_refused(raw: object, code: str) -> None:
    assert code_of(parse_datetime(raw, "datetime")) == code


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2021-11-07T02:48:42Z", datetime(2021, 11, 7, 2, 48, 42)),
        ("2021-11-07T04:48:42+02:00", datetime(2021, 11, 7, 2, 48, 42)),
        ("2021-11-06T21:48:42-05:00", datetime(2021, 11, 7, 2, 48, 42)),
        ("2021-12-31T23:30:00-01:00", datetime(2022, 1, 1, 0, 30)),
        ("2021-11-07T02:48:42.250Z", datetime(2021, 11, 7, 2, 48, 42, 250000)),
    ],
)
def test_a_datetime_with_a_timezone_is_stored_as_utc(raw: str, utc: datetime) -> None:
    assert parse_datetime(raw, "datetime") == utc


def test_a_row_reports_every_rule_it_breaks_at_once() -> None:
    reasons = HIRED_EMPLOYEES.validate(["abc", "", "2021-02-30T00:00:00Z", "0", "x"])
    assert [(r.field, r.code) for r in reasons] == [
        ("id", "not_an_integer"),
        ("name", "missing"),
        ("datetime", "invalid_datetime"),
        ("department_id", "out_of_range"),
        ("job_id", "not_an_integer"),
    ]
    assert all(r.message for r in reasons)


def test_a_row_with_the_wrong_number_of_fields_is_refused_with_the_expected_columns() -> None:
    [reason] = DEPARTMENTS.validate(["1", "Sales", "extra"])
    assert reason.code == "wrong_column_count"
    assert "id, department" in reason.message


def test_a_valid_row_becomes_its_entity() -> None:
    assert DEPARTMENTS.validate(["1", " Supply Chain"]) == Department(1, "Supply Chain")
    employee = HIRED_EMPLOYEES.validate(["1", "Harold Vogt", "2021-11-07T02:48:42Z", "2", "96"])
    assert employee == HiredEmployee(1, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42), 2, 96)


def test_a_json_row_needs_every_field_and_no_other() -> None:
    missing = JOBS.validate_mapping({"id": 1})
    assert [(r.field, r.code) for r in missing] == [("job", "missing")]
    extra = JOBS.validate_mapping({"id": 1, "job": "Engineer", "salary": 10})
    assert [r.code for r in extra] == ["unknown_field"]
    assert [r.code for r in JOBS.validate_mapping(["1", "Engineer"])] == ["wrong_type"]
    assert [r.code for r in JOBS.validate_mapping({"id": {"nested": 1}, "job": "x"})] == ["wrong_type"]


def test_a_header_line_is_recognised_by_its_column_names() -> None:
    assert HIRED_EMPLOYEES.is_header(["id", "name", "datetime", "department_id", "job_id"])
    assert DEPARTMENTS.is_header([" ID", "Department "])
    assert not DEPARTMENTS.is_header(["1", "department"])


def test_an_unknown_table_is_a_domain_error() -> None:
    with pytest.raises(UnknownTable):
        table_spec("employees")
