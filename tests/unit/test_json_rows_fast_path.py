"""The fast readings of a batch body give exactly what the strict ones give: orjson's reading of a JSON text
stands only where the strict reader returns the same value, and a JSON object's fast validation gives what
``validate_mapping`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from api.parsing import _plain_rows, _strict_value, parse_json
from core.ingest.loader import _object_validator
from domain.entities import DEPARTMENTS, HIRED_EMPLOYEES, JOBS
from domain.errors import InvalidRequest
from tests.unit.test_fast_validation import datetimes, ids, names


def strict_reading(text: str) -> Any:
    """What the strict reader gives, or the refusal it raises, as a value to compare."""
    try:
        return ("value", _strict_value(text))
    except InvalidRequest as error:
        return ("refused", str(error), error.details)


def agrees_with_the_strict_reader(text: str) -> None:
    fast = _plain_rows(text)
    if fast is not None:
        assert strict_reading(text) == ("value", fast)
    try:
        answer = ("value", parse_json(text))
    except InvalidRequest as error:
        answer = ("refused", str(error), error.details)
    assert answer == strict_reading(text)


keys = st.sampled_from(["id", "name", "datetime", "department_id", "job_id", "department", "a:b", "", "é", "\x7f"])
plain_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
# Pieces of JSON text spliced into a row: numbers too long or too large, constants, escapes of a colon or of
# a lone surrogate, nesting, strings holding colons and quotes.
raw_values = st.sampled_from(
    [
        "1" * 101,
        "1" * 100,
        "0." + "0" * 120 + "1",
        "1e999",
        "-1e999",
        "18446744073709551616",
        "-9223372036854775809",
        "NaN",
        "Infinity",
        '"\\u003a"',
        '"\\u003A:"',
        '"\\ud800"',
        '"\\udc00x"',
        '"\\ud83d\\ude00"',
        '"a\\":b"',
        '"::"',
        "[1]",
        '{"a": 1}',
        '{"a": 1, "a": 2}',
        "[[[[1]]]]",
        '"\x1f"',
        "01",
        "tru",
    ]
)


def object_text(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{json.dumps(key)}: {value}" for key, value in pairs) + "}"


row_pairs = st.lists(st.tuples(keys, st.one_of(plain_values.map(json.dumps), raw_values)), max_size=6)
bodies = st.lists(row_pairs.map(object_text), max_size=4).map(lambda rows: "[" + ", ".join(rows) + "]")


@settings(max_examples=600)
@given(bodies)
@example('[{"id": 1, "id": 2}]')
@example('[{"id": 1, "id": 2, "name": "\\u003a"}]')
@example('[{"id": 1, "name": "x:y"}, {"id": 1, "id": "x:y"}]')
@example('[{"id": 1, "name": "a"}, {"name": "b", "name": "b"}]')
@example('[{"a": {"b": 1}}]')
@example('[{"id": ' + "1" * 101 + "}]")
@example('[{"id": 1e999}]')
@example('[{"id": 123456789012345678901234567890}]')
@example('[{"id": NaN}]')
@example('[{"name": "\\ud800"}]')
@example("\ufeff[]")
@example("[]")
@example("[1, 2]")
@example('[{"id": 1}] x')
def test_a_body_read_fast_is_the_value_the_strict_reader_gives(text: str) -> None:
    agrees_with_the_strict_reader(text)


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": 1, "id": 2}]',
        '[{"id": 1, "name": "a:b:c", "name": "d"}]',
        '[{"id": 1, "name": "\\u003a", "name": "d"}]',
        '[{"id": 1.5}]',
        '[{"rows": [{"id": 1}]}]',
        '[{"id": ' + "9" * 101 + "}]",
    ],
)
def test_what_orjson_reads_differently_is_left_to_the_strict_reader(text: str) -> None:
    assert _plain_rows(text) is None
    agrees_with_the_strict_reader(text)


def test_a_batch_of_plain_rows_is_read_fast() -> None:
    text = json.dumps([{"id": n, "name": f"Ana {n}: the first", "datetime": "2021-11-07T02:48:42Z"} for n in range(5)])
    assert _plain_rows(text) == json.loads(text)


columns = st.sampled_from(["id", "name", "datetime", "department_id", "job_id", "department", "job", "extra"])
values = st.one_of(ids, names, datetimes)


@settings(max_examples=600)
@given(
    st.sampled_from([DEPARTMENTS, JOBS, HIRED_EMPLOYEES]), st.dictionaries(columns, values, max_size=7), st.randoms()
)
def test_a_json_object_validated_fast_gets_what_validate_mapping_gives(
    spec: Any, record: dict[str, Any], order: Any
) -> None:
    exact = {name: record.get(name) for name in spec.column_names}
    shuffled = list(exact.items())
    order.shuffle(shuffled)
    validate_object = _object_validator(spec)
    for candidate in (record, exact, dict(shuffled)):
        assert validate_object(candidate) == spec.validate_mapping(candidate)
