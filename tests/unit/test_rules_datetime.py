from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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
