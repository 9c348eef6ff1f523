"""A CSV source, a whole blob or one byte range of it, read as numbered records with bounded memory.

Tolerates a UTF-8 byte-order mark, CRLF or CR line ends, a missing final newline,
quoted fields and a space after the comma. Bytes that are not UTF-8 are kept as
lone surrogates so that only the row holding them is refused. A range is numbered
by its lines in the whole file, so its records and line numbers are exactly those
that reading the whole file gives.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from core.ingest.parse_process import Prepare, can_parse_in_child, records_in_child
from core.storage import BlobStorage
from domain.entities import line_too_long, malformed_csv

MAX_LINE_CHARS = 1 << 20
# The most rows a run of canonical lines gives as one record (``Rows``): the rows of a batch, about.
RUN_ROWS = 1000
# A line's entity when the line is in its table's canonical form, else None (``TableSpec.parse_line``).
LineParser = Callable[[str], Any]
BOM = b"\xef\xbb\xbf"
csv.field_size_limit(MAX_LINE_CHARS)


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` (excluded) of a file; the first of them is on physical line ``first_line``."""

    start: int
    end: int
    first_line: int
    lines: int = 0

    @property
    def size(self) -> int:
        return self.end - self.start


class Rows(list[tuple[Any, ...]]):
    """Rows of consecutive canonical lines, each as the line parser gave it (a plain tuple in the database's form):
    one record under the line of its first row, for the runs of valid lines that make up most of a file. The load
    takes them in a few steps per batch instead of a loop over each row, and a parse child pickles no line number
    per row."""

    __slots__ = ()


def record_weight(record: tuple[int, Any]) -> int:
    """The rows a record stands for: a ``Rows`` its length, any other one."""
    payload = record[1]
    return len(payload) if type(payload) is Rows else 1


class CountingReader(io.RawIOBase):
    """A raw stream that counts the bytes read through it, for progress."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n

    def read_so_far(self) -> int:
        return self.bytes_read

    def told_read(self, count: int) -> None:
        """The bytes read through this reader's copy in a child process (``records_in_child``)."""
        self.bytes_read = count

    def close(self) -> None:
        self._stream.close()
        super().close()


def _bounded_lines(text: IO[str], limit: int, oversized: set[int]) -> Iterator[str]:
    number = 0
    while True:
        line = text.readline(limit)
        if not line:
            return
        number += 1
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            _skip_rest_of_line(text, limit)
            oversized.add(number)
            yield "\n"
        else:
            yield line


def _skip_rest_of_line(text: IO[str], limit: int) -> None:
    """Drop the rest of an over-long line without holding it."""
    while True:
        rest = text.readline(limit)
        if not rest or rest.endswith(("\n", "\r")):
            return


def csv_records(
    stream: IO[bytes],
    limit: int = MAX_LINE_CHARS,
    parse_line: LineParser | None = None,
    *,
    runs: bool = False,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, fields)`` for each record; a line that cannot be read yields a ``Reason``.

    Blank lines are skipped: they carry no record. With ``parse_line``, a line it takes yields
    ``(line_number, entity)`` instead, without going through csv.reader; with ``runs`` too, consecutive lines it
    takes yield one ``(line_number, Rows)`` of at most ``RUN_ROWS``, under the first one's line.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")  # type: ignore[type-var]
    oversized: set[int] = set()
    if parse_line is not None:
        yield from _fast_records(text, limit, parse_line, runs)
        return
    reader = csv.reader(_bounded_lines(text, limit, oversized), skipinitialspace=True)
    last_line = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield last_line + 1, malformed_csv(str(error))
            last_line = reader.line_num
            continue
        start = last_line + 1
        last_line = reader.line_num
        if not fields:
            if start in oversized:
                yield start, line_too_long(limit)
            continue
        if len(fields) == 1 and not fields[0].strip():
            continue
        yield start, fields


class _Feed:
    """The lines csv.reader reads: the one handed to it, then, for a record that spans lines, the next ones."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.first: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self.first
        if line is None:
            return next(self.lines)
        self.first = None
        return line


def _fast_records(text: IO[str], limit: int, parse_line: LineParser, runs: bool) -> Iterator[tuple[int, Any]]:
    """``csv_records`` with a fast path: a line ``parse_line`` takes is its entity (with ``runs``, in a ``Rows`` of
    the lines taken around it); any other goes through csv.reader, which reads on for a quoted field that spans
    lines, exactly as it would have read the whole file."""
    feed = _Feed(_bounded_lines(text, limit, set()))
    reader = csv.reader(feed, skipinitialspace=True)
    readline = text.readline
    number = 0
    run: Rows | None = None
    first = 0  # the line of the run's first row
    while line := readline(limit):
        number += 1
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            if run is not None:
                yield first, run
                run = None
            _skip_rest_of_line(text, limit)
            yield number, line_too_long(limit)
            continue
        entity = parse_line(line)
        if entity is not None:
            if not runs:
                yield number, entity
            elif run is None:
                run, first = Rows((entity,)), number
            else:
                run.append(entity)
                if len(run) == RUN_ROWS:
                    yield first, run
                    run = None
            continue
        if run is not None:
            yield first, run
            run = None
        feed.first = line
        before = reader.line_num
        try:
            fields = next(reader)
        except StopIteration:  # pragma: no cover - the feed holds the line handed to it
            return
        except csv.Error as error:
            yield number, malformed_csv(str(error))
            number += reader.line_num - before - 1
            continue
        start = number
        number += reader.line_num - before - 1
        if not fields:
            continue
        if len(fields) == 1 and not fields[0].strip():
            continue
        yield start, fields
    if run is not None:
        yield first, run


def range_records(
    stream: IO[bytes],
    part: ByteRange,
    limit: int = MAX_LINE_CHARS,
    parse_line: LineParser | None = None,
    *,
    runs: bool = False,
) -> Iterator[tuple[int, Any]]:
    """The records of one range, numbered by their line in the whole file."""
    if part.start > 0:
        # The reader drops a byte-order mark at its start; one that begins a later range is data.
        stream = io.BufferedReader(_Prefixed(BOM, stream), 1 << 16)
    offset = part.first_line - 1
    for line, payload in csv_records(stream, limit, parse_line, runs=runs):
        yield line + offset, payload


class CsvSource:
    """The records of one CSV blob, whole or one byte range, and how many of its bytes were read so far.

    A context manager: leaving it closes the stream.
    """

    def __init__(
        self,
        storage: BlobStorage,
        name: str,
        part: ByteRange | None = None,
        parse_line: LineParser | None = None,
        *,
        child_from_bytes: int | None = None,
        prepare: Prepare | None = None,
        runs: bool = False,
    ) -> None:
        """With ``child_from_bytes``, a source of at least that many bytes is parsed in a child process
        (``core/ingest/parse_process.py``), where the system can fork. With ``prepare``, such a source gives
        the items of ``prepare(chunk)`` for each chunk of its records, computed in the child; a source read in this
        process gives the records as they are. With ``runs``, the canonical lines come in ``Rows`` (``csv_records``)."""
        self.name = name
        self.part = part
        if part is None:
            self.size = storage.size(name)
            raw = storage.open(name)
        else:
            self.size = part.size
            raw = storage.open_range(name, part.start, part.end)
        self._counter = CountingReader(raw)
        self._stream = io.BufferedReader(self._counter, 1 << 16)

        def records(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
            if part is None:
                return csv_records(stream, parse_line=parse_line, runs=runs)
            return range_records(stream, part, parse_line=parse_line, runs=runs)

        self.in_child = (
            child_from_bytes is not None
            and self.size is not None
            and self.size >= child_from_bytes
            and can_parse_in_child()
        )
        if self.in_child:
            local = _local_file(raw)
            self.records = records_in_child(
                self._stream,
                records,
                prepare,
                file_descriptor=local,
                bytes_read=None if local is None else self._counter.read_so_far,
                told_read=None if local is None else self._counter.told_read,
                weight=record_weight,
                runs=Rows,
            )
        else:
            self.records = records(self._stream)

    def estimated_records(self) -> int | None:
        """About how many records the source holds, from the lines in its first 64 KiB; None if its size is unknown.

        Call it before reading the records.
        """
        if self.size is None:
            return None
        sample = self._stream.peek(1 << 16)[: 1 << 16]
        if not sample:
            return 0
        lines = sample.count(b"\n") or sample.count(b"\r")
        if len(sample) >= self.size:
            return lines + (not sample.endswith((b"\n", b"\r")))
        return max(1, self.size * lines // len(sample))

    @property
    def may_start_with_a_header(self) -> bool:
        """Only the start of the file may hold a header line."""
        return self.part is None or self.part.start == 0

    @property
    def bytes_read(self) -> int:
        return self._counter.bytes_read if self.size is None else min(self._counter.bytes_read, self.size)

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        close = getattr(self.records, "close", None)
        if close is not None:
            close()  # a child that parses stops before its source is closed
        self._counter.close()


def _local_file(stream: IO[bytes]) -> int | None:
    """The descriptor of the regular file ``stream`` reads from its start, if it is one: a whole blob of a local
    folder, which a parse child can read itself."""
    try:
        fd = stream.fileno()
        local = stat.S_ISREG(os.fstat(fd).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return fd if local else None


class _Prefixed(io.RawIOBase):
    """``prefix``, then the bytes of ``stream``."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()
