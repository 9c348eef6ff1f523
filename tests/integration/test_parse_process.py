"""A large source parsed in a child process gives the load exactly the records the load would have read itself,
and the child never outlives what it serves: a stopped read, a failure, a load killed with SIGKILL."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings

from core.ingest import parse_process
from core.ingest.csv_source import (
    BOM,
    RUN_ROWS,
    ByteRange,
    CsvSource,
    Rows,
    csv_records,
    range_records,
    record_weight,
)
from core.ingest.parse_process import ParseProcessFailed, records_in_child
from domain.entities import HIRED_EMPLOYEES, HiredEmployee
from infra.storage.local import LocalFolderStorage
from tests.unit.test_fast_validation import csv_file

ROOT = Path(__file__).resolve().parents[2]
parse_line = HIRED_EMPLOYEES.parse_line
plain = HIRED_EMPLOYEES.plain_line_parser()


def employees(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    return csv_records(stream, 60, parse_line)


def typed(records: Iterator[tuple[int, Any]] | list[tuple[int, Any]]) -> list[tuple[int, type, Any]]:
    """Each record with its payload's type: an entity equals the plain tuple of its values, and must stay one."""
    return [(line, type(payload), payload) for line, payload in records]


def children() -> set[int]:
    """This process's children, from every thread (the kernel lists them by the thread that made them)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_file())
def test_the_child_gives_the_records_of_any_file_as_the_load_reads_them(data: bytes) -> None:
    assert typed(records_in_child(io.BytesIO(data), employees)) == typed(employees(io.BytesIO(data)))


def one_by_one(records: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Each row of a ``Rows`` record as a record of its own line."""
    for line, payload in records:
        if type(payload) is Rows:
            assert 0 < len(payload) <= RUN_ROWS
            yield from enumerate(payload, start=line)
        else:
            yield line, payload


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_file())
def test_runs_of_canonical_lines_are_the_records_of_those_lines(data: bytes) -> None:
    expected = list(csv_records(io.BytesIO(data), 60, plain))
    found = list(csv_records(io.BytesIO(data), 60, plain, runs=True))
    assert typed(one_by_one(iter(found))) == typed(expected)
    # A run ends only where a line is not taken, or at its size: no two runs of consecutive lines.
    starts = [(line, len(rows)) for line, rows in found if type(rows) is Rows]
    assert all(a + n < b or n == RUN_ROWS for (a, n), (b, _) in zip(starts, starts[1:], strict=False))


def runs_read_with(parser: Any) -> Any:
    def records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
        return csv_records(stream, 60, parser, runs=True)

    return records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_file())
def test_runs_reach_the_load_as_the_same_records_through_marshal_or_through_pickle(data: bytes) -> None:
    """Runs of text and numbers cross in marshal's form, any other record pickled beside them; a run that holds a
    datetime, which marshal cannot write, crosses with its whole message pickled."""
    as_text = HIRED_EMPLOYEES.plain_line_parser(lambda when: f"{when[:10]} {when[11:]}.000000")
    for parser, marshalled in ((as_text, True), (plain, False)):
        records = runs_read_with(parser)
        kinds: list[int] = []
        receive = parse_process._receive

        def noting(results: IO[bytes], kinds: list[int] = kinds, receive: Any = receive) -> tuple[int, Any, int]:
            found = receive(results)
            kinds.append(found[0])
            return found

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parse_process, "_receive", noting)
            through_child = list(records_in_child(io.BytesIO(data), records, runs=Rows, weight=record_weight))
        assert typed(through_child) == typed(records(io.BytesIO(data)))
        if marshalled:
            assert parse_process._RECORDS not in kinds
        elif any(type(payload) is Rows for _, payload in through_child):
            assert parse_process._RECORDS in kinds


def test_a_run_ends_at_a_line_too_long_and_at_a_line_the_parser_does_not_take() -> None:
    line = b"%d,Ana Silva,2021-11-07T02:48:42Z,1,1\n"
    too_long = b"9," + b"x" * 80 + b"\n"
    data = b"".join(line % n for n in (1, 2, 3)) + too_long + line % 5 + b'6,"Bo\nb",x,1,1\n' + line % 8
    found = list(csv_records(io.BytesIO(data), 60, plain, runs=True))
    assert [(n, type(payload).__name__) for n, payload in found] == [
        (1, "Rows"),
        (4, "Reason"),
        (5, "Rows"),
        (6, "list"),
        (8, "Rows"),
    ]
    assert typed(one_by_one(iter(found))) == typed(csv_records(io.BytesIO(data), 60, plain))


def test_the_challenge_file_and_a_range_of_it_read_the_same_through_the_child(challenge_dir: Path) -> None:
    data = (challenge_dir / "hired_employees.csv").read_bytes()
    assert typed(records_in_child(io.BytesIO(data), employees)) == typed(employees(io.BytesIO(data)))
    middle = data.index(b"\n", len(data) // 3) + 1
    part = ByteRange(middle, len(data), data[:middle].count(b"\n") + 1)

    def ranged(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
        return range_records(stream, part, parse_line=parse_line)

    expected = list(ranged(io.BytesIO(data[middle:])))
    assert expected and typed(records_in_child(io.BytesIO(data[middle:]), ranged)) == typed(expected)


def test_many_messages_arrive_whole_and_in_order() -> None:
    lines = [f"{n},Ana Silva,2021-11-07T02:48:42Z,{n % 12 + 1},{n % 180 + 1}" for n in range(1, 25_001)]
    data = BOM + ("\r\n".join(lines) + '\r\n7,"two\nlines",x,1,1\n').encode()
    got = list(records_in_child(io.BytesIO(data), employees))
    assert typed(got) == typed(employees(io.BytesIO(data)))
    assert len(got) == 25_001 and type(got[-1][1]) is list


def test_a_source_read_in_part_stops_its_child() -> None:
    data = b"".join(b"%d,Ana Silva,2021-11-07T02:48:42Z,1,1\n" % n for n in range(1, 200_001))
    before = children()
    records = records_in_child(io.BytesIO(data), employees)
    assert next(records)[0] == 1
    started = children() - before
    assert len(started) == 1
    records.close()
    assert not children() & started


def test_an_error_in_the_child_fails_the_load_with_its_words() -> None:
    def broken(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
        yield 1, "fine"
        raise ValueError("the parser broke")

    before = children()
    with pytest.raises(ParseProcessFailed, match="ValueError: the parser broke"):
        list(records_in_child(io.BytesIO(b"1\n"), broken))
    assert children() <= before


def test_a_child_killed_mid_file_fails_the_load() -> None:
    def slow(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
        yield from employees(stream)
        os.kill(os.getpid(), signal.SIGKILL)

    before = children()
    with pytest.raises(ParseProcessFailed, match="without a word"):
        list(records_in_child(io.BytesIO(b"1,Ana Silva,2021-11-07T02:48:42Z,1,1\n"), slow))
    assert children() <= before


def test_a_csv_source_above_the_threshold_is_parsed_in_a_child(tmp_path: Path, challenge_dir: Path) -> None:
    storage = LocalFolderStorage(tmp_path)
    data = (challenge_dir / "hired_employees.csv").read_bytes()
    storage.write("hired_employees.csv", data)
    with CsvSource(storage, "hired_employees.csv", parse_line=parse_line, child_from_bytes=len(data)) as source:
        assert source.in_child
        assert typed(source.records) == typed(csv_records(io.BytesIO(data), parse_line=parse_line))
        assert source.bytes_read == len(data)
    with CsvSource(storage, "hired_employees.csv", parse_line=parse_line, child_from_bytes=len(data) + 1) as source:
        assert not source.in_child


def feeders() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name == "csv-feeder"]


def test_a_local_file_is_read_by_the_child_itself_which_tells_how_far_it_got(tmp_path: Path) -> None:
    storage = LocalFolderStorage(tmp_path)
    data = b"".join(b"%d,Ana Silva,2021-11-07T02:48:42Z,1,1\n" % n for n in range(1, 20_001))
    storage.write("hired_employees.csv", data)
    seen, threads = [], set()
    with CsvSource(storage, "hired_employees.csv", parse_line=parse_line, child_from_bytes=1) as source:
        records = []
        for record in source.records:
            records.append(record)
            seen.append(source.bytes_read)
            threads.update(feeders())
        assert source.bytes_read == len(data)
    assert typed(records) == typed(csv_records(io.BytesIO(data), parse_line=parse_line))
    assert threads == set()  # no thread of this process copied the file
    assert seen == sorted(seen) and any(0 < read < len(data) for read in seen)  # progress moved during the read
    # In runs, through the child: runs of RUN_ROWS rows that are the records of their lines.
    with CsvSource(storage, "hired_employees.csv", parse_line=plain, child_from_bytes=1, runs=True) as source:
        runs = list(source.records)
    assert [len(rows) for _, rows in runs] == [RUN_ROWS] * 20
    assert typed(one_by_one(iter(runs))) == typed(csv_records(io.BytesIO(data), parse_line=plain))
    # A byte range of the file is not a file the child can read from its start: this process feeds it.
    part = ByteRange(0, len(data) // 2, 1)
    with CsvSource(storage, "hired_employees.csv", part, parse_line=parse_line, child_from_bytes=1) as source:
        first = next(source.records)
        assert feeders() == ["csv-feeder"]
        ranged = [first, *source.records]
        assert source.bytes_read == part.size
    assert typed(ranged) == typed(range_records(io.BytesIO(data[: part.end]), part, parse_line=parse_line))


def test_the_child_ends_when_the_load_is_killed(tmp_path: Path) -> None:
    """SIGKILL the process that reads (as a crashed worker): its child finds the pipe closed and exits."""
    script = textwrap.dedent(
        """
        import io, sys, time
        from core.ingest.csv_source import csv_records
        from core.ingest.parse_process import records_in_child
        from domain.entities import HIRED_EMPLOYEES, HiredEmployee
        data = b"".join(b"%d,Ana Silva,2021-11-07T02:48:42Z,1,1\\n" % n for n in range(1, 400_001))
        records = records_in_child(io.BytesIO(data), lambda s: csv_records(s, parse_line=HIRED_EMPLOYEES.parse_line))
        next(records)
        print("reading", flush=True)
        time.sleep(60)
        """
    )
    reader = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        children = Path(f"/proc/{reader.pid}/task/{reader.pid}/children").read_text().split()
        assert len(children) == 1
        child = int(children[0])
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=10)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{child}").exists() and _state(child) != "Z" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{child}").exists() or _state(child) == "Z"
    finally:
        if reader.poll() is None:
            reader.kill()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def test_with_prepare_the_child_sends_each_chunk_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(chunk: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = [(len(chunk), "chunk")]
        for line, payload in chunk:
            if type(payload) is HiredEmployee:
                out.append((line, (payload[0], payload[1].upper(), payload[2].isoformat(), *payload[3:])))
            else:
                out.append((line, ("fields", *payload) if type(payload) is list else payload))
        return out

    monkeypatch.setattr(parse_process, "RECORDS_PER_MESSAGE", 2)
    data = b'1,Ana Silva,2021-11-07T02:48:42Z,1,1\n2,"Bo, Li",2021-11-07T02:48:42Z,1,1\nx,Bad,2021,1,1\n'
    parsed = list(employees(io.BytesIO(data)))
    expected = prepare(parsed[:2]) + prepare(parsed[2:])
    assert [type(p) for _, p in expected] == [str, tuple, tuple, str, tuple]
    assert typed(records_in_child(io.BytesIO(data), employees, prepare)) == typed(expected)
