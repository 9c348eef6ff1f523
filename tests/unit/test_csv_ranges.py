from __future__ import annotations

import io
import random

import pytest

from core.ingest.csv_source import ByteRange, csv_records, range_records
from core.ingest.parts import parts_for
from core.ingest.ranges import count_lines, plan_ranges
from tests.unit.test_ingest import FakeStorage

HEADER = b"id,name,datetime,department_id,job_id\n"


def plan(data: bytes, parts: int, **options: int) -> list[ByteRange]:
    return plan_ranges(io.BytesIO(data), len(data), parts, **options)


def records_by_range(data: bytes, ranges: list[ByteRange]) -> list[tuple[int, object]]:
    found: list[tuple[int, object]] = []
    for part in ranges:
        found.extend(range_records(io.BytesIO(data[part.start : part.end]), part))
    return found


def assert_covers_every_byte_once(data: bytes, ranges: list[ByteRange]) -> None:
    assert ranges[0].start == 0 and ranges[-1].end == len(data)
    for before, after in zip(ranges, ranges[1:], strict=False):
        assert before.end == after.start and before.start < before.end


def employees(count: int, line_end: bytes = b"\n") -> bytes:
    rows = [f"{i},Ana Silva,2021-05-0{i % 9 + 1}T10:00:00Z,1,1".encode() for i in range(1, count + 1)]
    return HEADER.replace(b"\n", line_end) + line_end.join(rows) + line_end


def test_a_file_is_cut_into_the_parts_asked_for_of_about_equal_size():
    data = employees(1000)

    ranges = plan(data, 4)

    assert len(ranges) == 4
    assert_covers_every_byte_once(data, ranges)
    assert all(abs(r.size - len(data) / 4) < 60 for r in ranges)
    assert all(data[r.start - 1 : r.start] == b"\n" for r in ranges[1:])


def test_each_range_knows_the_line_it_starts_on_and_how_many_lines_it_holds():
    data = employees(100)

    ranges = plan(data, 3)

    for part in ranges:
        assert part.first_line == count_lines(data[: part.start]) + 1
        assert part.lines == count_lines(data[part.start : part.end])
    assert sum(r.lines for r in ranges) == 101


def test_a_line_break_inside_quotes_is_never_a_split_point():
    quoted = b'1,"Ana\nSilva\nda\nCosta",2021-05-01T10:00:00Z,1,1\n'
    data = HEADER + quoted * 200

    ranges = plan(data, 7)

    assert len(ranges) == 7
    assert all(data[r.start :].startswith(b"1,") for r in ranges[1:])
    assert [r.first_line for r in ranges] == [1, *(count_lines(data[: r.start]) + 1 for r in ranges[1:])]
    assert records_by_range(data, ranges) == list(csv_records(io.BytesIO(data)))


def test_a_quote_inside_an_unquoted_field_opens_nothing_as_for_the_csv_reader():
    data = HEADER + b'1,Ana "the boss,2021-05-01T10:00:00Z,1,1\n' * 50 + b'2," a\n b",2021-05-01T10:00:00Z,1,1\n' * 50

    ranges = plan(data, 5)

    assert len(ranges) == 5
    assert records_by_range(data, ranges) == list(csv_records(io.BytesIO(data)))


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["CRLF", "lone CR"])
def test_crlf_and_lone_cr_files_split_after_whole_line_ends_with_the_right_line_numbers(line_end):
    data = employees(300, line_end)

    ranges = plan(data, 4)

    assert len(ranges) == 4
    assert all(data[r.start - len(line_end) : r.start] == line_end for r in ranges[1:])
    assert records_by_range(data, ranges) == list(csv_records(io.BytesIO(data)))


def test_the_header_and_byte_order_mark_belong_to_the_first_range_alone():
    data = b"\xef\xbb\xbf" + employees(200)

    ranges = plan(data, 3)
    first = list(range_records(io.BytesIO(data[: ranges[0].end]), ranges[0]))

    assert first[0] == (1, ["id", "name", "datetime", "department_id", "job_id"])
    assert records_by_range(data, ranges) == list(csv_records(io.BytesIO(data)))


def test_a_byte_order_mark_at_the_start_of_a_later_range_stays_data_as_in_the_whole_file():
    data = HEADER + b"1,a,b,c,d\n" * 20 + b"\xef\xbb\xbf2,a,b,c,d\n" + b"3,a,b,c,d\n" * 20
    part = ByteRange(len(HEADER) + 200, len(data), 22)

    assert list(range_records(io.BytesIO(data[part.start :]), part))[0] == (22, ["\ufeff2", "a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("data", "lines"), [(b"", 0), (HEADER, 1), (b"1,a,b,c,d", 1)], ids=["empty", "header alone", "one row"]
)
def test_a_file_with_no_record_boundary_inside_is_one_range(data, lines):
    assert plan(data, 8) == [ByteRange(0, len(data), 1, lines)]


def test_a_file_under_twice_the_smallest_part_is_not_split_at_all():
    assert parts_for(63 << 20, 8, 32 << 20) == 1
    assert parts_for(64 << 20, 8, 32 << 20) == 2
    assert parts_for(10 << 30, 8, 32 << 20) == 8
    assert parts_for(0, 8, 32 << 20) == 1


def test_one_part_asked_is_one_range_whatever_the_size():
    data = employees(500)

    assert plan(data, 1) == [ByteRange(0, len(data), 1, 501)]


def test_a_file_whose_quotes_never_close_is_not_split_inside_them():
    data = HEADER + b'1,"never closed\n' + b"2,a,b,c,d\n" * 100

    assert plan(data, 4) == [ByteRange(0, len(data), 1, 102)]


def test_no_split_follows_a_line_long_enough_to_be_cut_by_the_reader():
    data = HEADER + b"1,a,b,c,d\n" * 40 + b"2," + b"x" * 200 + b"\n" + b"3,a,b,c,d\n" * 40

    ranges = plan(data, 8, limit=64)

    assert ranges[-1].end == len(data) and ranges[-1].start < data.index(b"2,x")


def test_reading_the_ranges_gives_exactly_the_records_of_the_whole_file_for_random_csv():
    pieces = [b'"', b",", b" ", b"\r", b"\n", b"\r\n", b"a", b"1", b"\x00", b"\xc3\xa9", b"\xff", b'""']
    rng = random.Random(2021)
    split = 0
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        if rng.random() < 0.2:
            data = b"\xef\xbb\xbf" + data
        ranges = plan(data, rng.randint(1, 8), limit=rng.choice([16, 64, 1 << 20]))
        split += len(ranges) > 1

        assert_covers_every_byte_once(data, ranges)
        assert records_by_range(data, ranges) == list(csv_records(io.BytesIO(data))), data
    assert split > 1000


def test_any_storage_can_open_a_byte_range_of_a_blob():
    storage = FakeStorage({"x": bytes(range(256)) * 10_000})

    with storage.open_range("x", 1_500_000, 1_500_300) as stream:
        assert stream.read() == storage.blobs["x"][1_500_000:1_500_300]
