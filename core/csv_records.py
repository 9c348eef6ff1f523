"""Stream CSV records out of a binary stream with bounded memory.

Tolerates a UTF-8 byte-order mark, CRLF or CR line ends, a missing final newline,
quoted fields and a space after the comma. Bytes that are not UTF-8 are kept as
lone surrogates so that only the row holding them is refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from domain.entities import line_too_long, malformed_csv

MAX_LINE_CHARS = 1 << 20
csv.field_size_limit(MAX_LINE_CHARS)


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
            while True:  # drop the rest of the over-long line without holding it
                rest = text.readline(limit)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            oversized.add(number)
            yield "\n"
        else:
            yield line


def csv_records(stream: IO[bytes], limit: int = MAX_LINE_CHARS) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, fields)`` for each record; a line that cannot be read yields a ``Reason``.

    Blank lines are skipped: they carry no record.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")  # type: ignore[type-var]
    oversized: set[int] = set()
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
