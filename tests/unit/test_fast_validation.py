"""The fast path of row validation gives exactly what the per-column parsers give, for good and bad rows alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from core.ingest.csv_source import BOM, csv_records
from core.ingest.loader import raw_text
from domain.entities import DEPARTMENTS, HIRED_EMPLOYEES, JOBS, HiredEmployee, TableSpec
from domain.rules import (
    MAX_ID,
    MAX_YEAR,
    MIN_YEAR,
    Reason,
    accept_datetime,
    accept_id,
    accept_name,
    parse_datetime,
    parse_id,
    parse_name,
)
from infra.db.hiring_rows import bulk_inserter

ids = st.one_of(
    st.integers(min_value=-5, max_value=MAX_ID + 5).map(str),
    st.integers(min_value=-5, max_value=MAX_ID + 5),
    st.sampled_from(["", " ", " 7", "7 ", "+7", "07", "٣", "1.0", "99999999999", "0000000001", "12345678901"]),
    st.sampled_from([None, True, 7.0, 1.5, [1], {"id": 1}]),
    st.text(max_size=12),
)
names = st.one_of(
    st.sampled_from(["Harold Vogt", " Zoë Brontë ", "", "  ", "x" * 100, "x" * 101, " " + "x" * 100 + " "]),
    st.sampled_from(["Ana\x00Silva", "Ana\nSilva", "Ana\x85Silva", "Ana\udcffSilva", "Ana\u00a0Silva", "Ana\u200bS"]),
    st.sampled_from(["\u200b", "\ufeff", "\u3164", "\u115f\u1160", "\u2800", "\u0301", "abc\u202edcba", "\u202e"]),
    st.sampled_from(
        ["x" * 98 + "\U0001f600", "x" * 99 + "\U0001f600", "\U0001f600" * 50, "\U0001f600" * 51, "Jose\u0301"]
    ),
    st.lists(st.sampled_from("ab \u200b\u3164\u0301\u202e\u2066\ufeff\u00a0\U0001f600\u2800"), max_size=60).map(
        "".join
    ),
    st.sampled_from([None, 12, ["Ana"]]),
    st.text(max_size=110),
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), timezone(timedelta(0))])
# Any offset ISO 8601 allows, to the minute, and local times within a day and a half of a year limit in UTC.
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
YEAR_LIMITS = (datetime(MIN_YEAR, 1, 1), datetime(MAX_YEAR + 1, 1, 1))  # UTC: the first instant in, the first out
near_year_limits = st.builds(
    lambda limit, minutes: limit + timedelta(minutes=minutes),
    st.sampled_from(YEAR_LIMITS),
    st.integers(min_value=-36 * 60, max_value=36 * 60),
)
moments = st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2200, 12, 31))
datetimes = st.one_of(
    st.builds(lambda m, z: m.replace(tzinfo=z).isoformat(), near_year_limits, offsets),
    st.builds(lambda m, z: m.replace(tzinfo=z), near_year_limits, offsets),
    moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.builds(lambda m, z: m.replace(tzinfo=z).isoformat(), moments, zones),
    st.builds(lambda m, z: m.replace(tzinfo=z).isoformat(sep=" ", timespec="milliseconds"), moments, zones),
    moments.map(lambda m: m.isoformat()),
    moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ ")),
    moments.map(lambda m: " " + m.strftime("%Y-%m-%dT%H:%M:%S+00:00")),
    st.builds(lambda m, z: m.replace(tzinfo=z), moments, zones),
    moments,
    st.sampled_from(["", "2021-02-30T00:00:00Z", "2021-11-07", "20211107T024842Z", "yesterday", None, 20211107]),
    st.text(max_size=30),
)


@settings(max_examples=400)
@given(ids)
@example("2147483647")
@example("2147483648")
def test_the_fast_id_check_accepts_only_what_the_id_rule_accepts_unchanged(value: object) -> None:
    fast = accept_id(value)
    assert fast is None or fast == parse_id(value, "id")


@settings(max_examples=400)
@given(names)
def test_the_fast_name_check_accepts_only_what_the_name_rule_accepts_unchanged(value: object) -> None:
    fast = accept_name(value)
    assert fast is None or fast == parse_name(value, "name")


@settings(max_examples=400)
@given(datetimes)
@example("2021-11-07T02:48:42Z")
@example("2021-11-07T02:48:42+00:00")
@example("2100-12-31T23:59:59Z")
@example("2101-01-01T00:00:00Z")
@example("1899-12-31T23:59:59Z")
@example("1900-01-01T00:00:00+01:00")
@example("2100-12-31T23:30:00-01:00")
@example("1900-01-01T00:30:00-01:00")
@example("2101-01-01T00:30:00+01:00")
def test_the_fast_datetime_check_accepts_only_what_the_datetime_rule_accepts_unchanged(value: object) -> None:
    fast = accept_datetime(value)
    assert fast is None or fast == parse_datetime(value, "datetime")


@settings(max_examples=400)
@given(st.one_of(near_year_limits, moments), offsets)
@example(datetime(1900, 1, 1), timezone(timedelta(hours=1)))
@example(datetime(2100, 12, 31, 23, 30), timezone(timedelta(hours=-1)))
def test_the_year_rule_holds_for_the_utc_instant_whatever_the_offset(local: datetime, zone: timezone) -> None:
    utc = local - (zone.utcoffset(None) or timedelta(0))
    text = local.replace(tzinfo=zone).isoformat()
    row = ["1", "Ada Lovelace", text, "2", "3"]

    result = parse_datetime(text, "datetime")

    if YEAR_LIMITS[0] <= utc < YEAR_LIMITS[1]:
        assert result == utc
        assert HIRED_EMPLOYEES.validate(row) == HiredEmployee(1, "Ada Lovelace", utc, 2, 3)
    else:
        assert isinstance(result, Reason) and result.code == "out_of_range"
        assert [r.code for r in HIRED_EMPLOYEES.validate(row)] == ["out_of_range"]
    assert HIRED_EMPLOYEES.validate(row) == HIRED_EMPLOYEES.validate_each_column(row)


@settings(max_examples=500)
@given(st.lists(st.one_of(ids, names, datetimes), min_size=0, max_size=7))
def test_any_row_gets_the_same_entity_or_the_same_reasons_as_from_the_column_parsers(values: list[object]) -> None:
    for spec in (DEPARTMENTS, JOBS, HIRED_EMPLOYEES):
        assert spec.validate(values) == spec.validate_each_column(values)


@settings(max_examples=500)
@given(ids, names, datetimes, ids, ids)
def test_an_employee_row_gets_the_same_entity_or_the_same_reasons_as_from_the_column_parsers(
    row_id: object, name: object, moment: object, department_id: object, job_id: object
) -> None:
    values = [row_id, name, moment, department_id, job_id]
    fast, slow = HIRED_EMPLOYEES.validate(values), HIRED_EMPLOYEES.validate_each_column(values)
    assert fast == slow
    assert type(fast) is type(slow)


def test_a_plain_csv_employee_takes_the_fast_path_and_becomes_its_entity() -> None:
    values = ["1", "Harold Vogt", "2021-11-07T02:48:42Z", "2", "96"]
    assert [accept(v) for accept, v in zip(HIRED_EMPLOYEES.acceptors or (), values, strict=True)] == [
        1,
        "Harold Vogt",
        datetime(2021, 11, 7, 2, 48, 42),
        2,
        96,
    ]
    assert HIRED_EMPLOYEES.validate(values) == HiredEmployee(1, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42), 2, 96)
    assert type(HIRED_EMPLOYEES.validate(values)) is HiredEmployee


def test_an_offset_other_than_utc_is_left_to_the_full_rule_which_converts_it() -> None:
    assert accept_datetime("2021-11-07T04:48:42+02:00") is None
    assert HIRED_EMPLOYEES.validate(["1", "Ana", "2021-11-07T04:48:42+02:00", "2", "3"]).datetime == datetime(
        2021, 11, 7, 2, 48, 42
    )


# --- The fast path of a CSV load: a canonical line parsed by one pattern, every other line through csv.reader
# and the full rules. Over whole files, both must give the same records, outcomes and raw texts.

CANONICAL_EMPLOYEE = "17,Harold Vogt,2021-11-07T02:48:42Z,2,96"
# A value for each reason code a CSV field can earn, and values that look canonical but are not quite.
ADVERSARIAL_FIELDS = [
    "",  # missing
    "  ",
    "abc",  # not_an_integer, invalid_datetime
    "+7",
    "07",
    "0",  # out_of_range
    "999999999",
    "1000000000",
    "2147483647",
    "2147483648",
    "99999999999",
    "x" * 100,
    "x" * 101,  # too_long
    "\U0001f600" * 50,
    "\U0001f600" * 51,
    "Ana\x01Silva",  # control_characters
    "Ana\x85Silva",
    "abc\u202edcba",  # bidi_control_characters
    "\u200b",  # no_visible_characters
    "\u3164",
    " Ana",
    "Ana ",
    "Ana\u00a0",
    "Zoë Brontë",
    "Jose\u0301",
    "2021-11-07T02:48:42Z",
    "2021-11-07T02:48:42",  # missing_timezone
    "2021-11-07T02:48:42+02:00",
    "2021-11-07T02:48:42+00:00",
    "2021-11-07 02:48:42Z",
    "2021-02-29T00:00:00Z",
    "2020-02-29T00:00:00Z",
    "2021-13-01T00:00:00Z",
    "2021-11-07T24:00:00Z",
    "2021-11-07T23:60:00Z",
    "2021-11-07T23:59:60Z",
    "1899-12-31T23:59:59Z",
    "1900-01-01T00:00:00Z",
    "2100-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "2021-11-07T02:48:42.5Z",
    "2021-11-07T02:48:42z",
]
csv_field = st.one_of(
    st.sampled_from(ADVERSARIAL_FIELDS),
    st.integers(min_value=1, max_value=MAX_ID + 5).map(str),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ")),
)
# Ids of up to nine digits are canonical; a ten-digit one (up to MAX_ID) takes the full path.
canonical_ids = st.integers(min_value=1, max_value=999_999_999)
canonical_employee = st.builds(
    lambda i, name, moment, d, j: f"{i},{name},{moment:%Y-%m-%dT%H:%M:%SZ},{d},{j}",
    canonical_ids,
    st.sampled_from(["Harold Vogt", "Zoë Brontë", "Søren Hofer", "x" * 100, "A", "Ana  Silva", "O'Neil-Smith"]),
    st.one_of(moments, near_year_limits),
    canonical_ids,
    canonical_ids,
)


@st.composite
def csv_line(draw: st.DrawFn) -> str:
    """One record as a file may hold it: plain, with quoted fields (commas, quotes, line breaks inside), with a space
    after a comma, with too few or too many fields."""
    if draw(st.booleans()):
        return draw(st.one_of(canonical_employee, st.just(CANONICAL_EMPLOYEE)))
    fields = draw(st.lists(csv_field, min_size=1, max_size=6))
    parts = []
    for value in fields:
        style = draw(st.sampled_from(["plain", "plain", "quoted", "space"]))
        if style == "quoted" or any(c in value for c in ',"\r\n'):
            value = '"' + value.replace('"', '""') + '"'
        parts.append((" " if style == "space" else "") + value)
    return ",".join(parts)


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    """Records and the quirks between them: a byte-order mark, CRLF, CR or LF ends, blank lines, a header, bytes
    that are not UTF-8, an unclosed quote, a missing final newline."""
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = draw(
        st.lists(
            st.one_of(
                csv_line(),
                csv_line(),
                st.sampled_from(["", "   ", "id,name,datetime,department_id,job_id", '1,"open quote', "\x00"]),
            ),
            max_size=8,
        )
    )
    text = ending.join(lines) + draw(st.sampled_from([ending, ""]))
    data = text.encode("utf-8", "surrogatepass" if draw(st.booleans()) else "replace")
    if draw(st.booleans()) and data:
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + data[at:]
    return (BOM if draw(st.booleans()) else b"") + data


def outcomes(spec: TableSpec, data: bytes, *, fast: bool, limit: int = 60) -> list[tuple[int, object, str]]:
    """Each record's line, then its entity or reasons, then the raw text a rejection would log."""
    records = csv_records(io.BytesIO(data), limit, spec.parse_line if fast else None)
    seen: list[tuple[int, object, str]] = []
    for line, payload in records:
        if type(payload) is spec.entity:
            seen.append((line, payload, spec.line_of(payload)))
        elif type(payload) is Reason:
            seen.append((line, [payload], raw_text(payload)))
        else:
            seen.append((line, spec.validate(payload), raw_text(payload)))
    return seen


@settings(max_examples=600)
@given(csv_file())
@example(b"\xef\xbb\xbf17,Harold Vogt,2021-11-07T02:48:42Z,2,96\r\n")
@example(b'17,Harold Vogt,2021-11-07T02:48:42Z,2,96\n1,"two\n17,Harold Vogt,2021-11-07T02:48:42Z,2,96\n"\n')
@example(b"17,Harold Vogt,2021-11-07T02:48:42Z,2,96\r17,Harold Vogt,2021-11-07T02:48:42Z,2,96")
@example(b"17, Harold Vogt,2021-11-07T02:48:42Z,2,96\n17,Harold Vogt ,2021-11-07T02:48:42Z,2,96\n")
@example(b"17,Harold Vogt,2021-11-07T02:48:42Z,2,96," + b"x" * 80 + b"\n17,A,2021-11-07T02:48:42Z,2,96\n")
@example(b'1,"open quote\n17,Harold Vogt,2021-11-07T02:48:42Z,2,96\n')
@example(b"17,Harold \xffVogt,2021-11-07T02:48:42Z,2,96\n")
def test_a_file_read_through_the_fast_path_gives_the_records_the_full_rules_give(data: bytes) -> None:
    for spec in (HIRED_EMPLOYEES, DEPARTMENTS):
        assert outcomes(spec, data, fast=True) == outcomes(spec, data, fast=False)


@settings(max_examples=400)
@given(canonical_employee)
def test_a_canonical_line_takes_the_fast_path_unless_a_rule_refuses_it(line: str) -> None:
    fields = next(csv.reader([line]))
    parsed = HIRED_EMPLOYEES.parse_line(line + "\n")
    full = HIRED_EMPLOYEES.validate(fields)
    assert parsed == (full if type(full) is HiredEmployee and fields[1] == full.name else None)
    if parsed is not None:
        assert HIRED_EMPLOYEES.line_of(parsed) == line == raw_text(fields)


SQLITE_FORM = bulk_inserter(sqlite.dialect(), "hired_employees").storage_form()
POSTGRES_FORM = bulk_inserter(postgresql.psycopg.dialect(), "hired_employees").storage_form()


@settings(max_examples=400)
@given(canonical_employee, st.sampled_from(["", "\n", "\r\n"]), st.sampled_from(ADVERSARIAL_FIELDS + ["Ana"]))
def test_the_plain_parsers_give_the_entitys_values_in_the_databases_form(line: str, end: str, name: str) -> None:
    """A load parses canonical lines straight into the database's form (SQLite: the datetime as the text it stores;
    PostgreSQL: as the microseconds its binary COPY carries); each line gives exactly the encoded entity of
    ``parse_line``, or None where ``parse_line`` does."""
    fields = line.split(",")
    for text in (line + end, ",".join([fields[0], name, *fields[2:]]) + end):
        entity = HIRED_EMPLOYEES.parse_line(text)
        plain = HIRED_EMPLOYEES.plain_line_parser()(text)
        stored = HIRED_EMPLOYEES.plain_line_parser(SQLITE_FORM.datetime_text)(text)
        copied = HIRED_EMPLOYEES.plain_line_parser(of_datetime=POSTGRES_FORM.datetime_value)(text)
        assert SQLITE_FORM.encode is not None and SQLITE_FORM.decode is not None
        assert POSTGRES_FORM.encode is not None and POSTGRES_FORM.decode is not None
        if entity is None:
            assert plain is None and stored is None and copied is None
        else:
            assert type(plain) is tuple and plain == tuple(entity)
            assert type(stored) is tuple and stored == SQLITE_FORM.encode(entity)
            assert SQLITE_FORM.decode(stored) == plain
            assert type(copied) is tuple and copied == POSTGRES_FORM.encode(entity)
            assert POSTGRES_FORM.decode(copied) == plain
    assert JOBS.plain_line_parser()("3,Recruiter\r\n") == (3, "Recruiter")


def test_the_fast_path_takes_plain_lines_and_leaves_every_other_to_the_full_rules() -> None:
    assert HIRED_EMPLOYEES.parse_line(CANONICAL_EMPLOYEE + "\n") == HiredEmployee(
        17, "Harold Vogt", datetime(2021, 11, 7, 2, 48, 42), 2, 96
    )
    assert JOBS.parse_line("3,Recruiter\r\n") == (3, "Recruiter")
    for line in ADVERSARIAL_FIELDS:
        assert HIRED_EMPLOYEES.parse_line(f"17,{line},2021-11-07T02:48:42Z,2,96") in (
            None,
            HiredEmployee(17, line, datetime(2021, 11, 7, 2, 48, 42), 2, 96),
        )
    for line in [
        "017,Ana,2021-11-07T02:48:42Z,2,96",
        '17,"Ana",2021-11-07T02:48:42Z,2,96',
        "17,Ana,2021-11-07T02:48:42Z,2",
    ]:
        assert HIRED_EMPLOYEES.parse_line(line) is None
