from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.rules import Reason, parse_datetime


def test_an_aware_datetime_is_accepted_and_returned_as_naive_utc() -> None:
    moment = datetime(2021, 11, 7, 4, 48, 42, 5, tzinfo=timezone(timedelta(hours=2)))
    assert parse_datetime(moment, "datetime") == datetime(2021, 11, 7, 2, 48, 42, 5)


def test_a_naive_datetime_is_refused_for_lack_of_a_timezone() -> None:
    result = parse_datetime(datetime(2021, 11, 7), "datetime")
    assert isinstance(result, Reason) and result.code == "missing_timezone"


def test_an_aware_datetime_out_of_range_is_refused() -> None:
    result = parse_datetime(datetime(1850, 1, 1, tzinfo=UTC), "datetime")
    assert isinstance(result, Reason) and result.code == "out_of_range"


@pytest.mark.parametrize(
    "raw",
    [
        "1900-01-01T00:00:00+01:00",  # 1899-12-31T23:00:00Z
        "2100-12-31T23:30:00-01:00",  # 2101-01-01T00:30:00Z
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC: beyond what a datetime holds
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
    ],
)
def test_a_time_whose_utc_year_is_outside_1900_to_2100_is_refused_whatever_its_local_year(raw: str) -> None:
    result = parse_datetime(raw, "datetime")
    assert isinstance(result, Reason) and result.code == "out_of_range"
    assert "in UTC" in result.message


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("1900-01-01T00:00:00Z", datetime(1900, 1, 1)),
        ("1900-01-01T00:30:00-01:00", datetime(1900, 1, 1, 1, 30)),
        ("1899-12-31T23:30:00-01:00", datetime(1900, 1, 1, 0, 30)),
        ("2100-12-31T23:30:00+01:00", datetime(2100, 12, 31, 22, 30)),
        ("2101-01-01T00:30:00+01:00", datetime(2100, 12, 31, 23, 30)),
        ("2100-12-31T23:59:59.999999Z", datetime(2100, 12, 31, 23, 59, 59, 999999)),
    ],
)
def test_a_time_whose_utc_year_is_inside_1900_to_2100_is_accepted_whatever_its_local_year(
    raw: str, utc: datetime
) -> None:
    assert parse_datetime(raw, "datetime") == utc
