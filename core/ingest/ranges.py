"""Split a CSV file into byte ranges that start on record boundaries, so several workers can load it at once.

One streaming scan follows the ``csv`` module's own state machine (quotes open a field only at its
start, ``""`` inside quotes, a space after the comma) so a line end inside a quoted field is never a
split point, and counts physical lines (``\\n``, ``\\r\\n`` and a lone ``\\r``) so each range knows the
line number it starts at. Reading each range with ``range_records`` yields exactly the records, with
exactly the line numbers, that reading the whole file with ``csv_records`` would.
"""

from __future__ import annotations

from typing import IO

from core.ingest.csv_source import BOM, MAX_LINE_CHARS, ByteRange

_QUOTE, _COMMA, _SPACE, _CR, _LF = b'"'[0], b","[0], b" "[0], b"\r"[0], b"\n"[0]


def count_lines(data: bytes) -> int:
    """Line ends in ``data``: ``\\r\\n`` counts once, a lone ``\\r`` or ``\\n`` once each."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def plan_ranges(stream: IO[bytes], size: int, parts: int, *, limit: int = MAX_LINE_CHARS) -> list[ByteRange]:
    """At most ``parts`` ranges of about ``size / parts`` bytes each, covering every byte exactly once.

    A file too small, or without a record boundary near a target, gives fewer ranges. A record longer
    than ``limit / 4`` bytes may be cut or refused by the reader, which then loses the thread of the
    quotes; no split is made after one, so such a file simply gives fewer ranges.
    """
    scanner = _Scanner([size * k // parts for k in range(1, parts)] if parts > 1 else [], limit // 4)
    # Chunks of a quarter of the limit: a line long enough to be cut holds at least one whole chunk.
    chunk_size = max(4, limit // 4)
    carry = b""
    while True:
        data = _read_full(stream, chunk_size)
        if len(data) == chunk_size and b"\n" not in data and b"\r" not in data:
            scanner.stop_splitting()
        if scanner.stopped:
            scanner.count(carry + data)
            carry = b""
            if not data:
                break
            continue
        buffer = carry + data
        if not data:
            scanner.feed(buffer)
            break
        # A final \r waits for the next chunk: it may be the first half of \r\n.
        searched = buffer[:-1] if buffer.endswith(b"\r") else buffer
        cut = max(searched.rfind(b"\n"), searched.rfind(b"\r")) + 1
        scanner.feed(buffer[:cut])
        carry = buffer[cut:]
    return scanner.ranges()


class _Scanner:
    def __init__(self, targets: list[int], longest_record: int) -> None:
        self.targets = targets
        self.longest_record = longest_record
        self.splits: list[tuple[int, int]] = []
        self.offset = 0
        self.lines = 0
        self.last_byte = b"\n"
        self.in_quotes = False
        self.record_start = 0
        self.stopped = not targets

    def stop_splitting(self) -> None:
        self.stopped = True

    def count(self, data: bytes) -> None:
        """Only count lines: past the last split, line numbers no longer matter (a lone \r\n cut in
        two between chunks may count twice)."""
        if data:
            self.lines += count_lines(data)
            self.offset += len(data)
            self.last_byte = data[-1:]

    def feed(self, region: bytes) -> None:
        """Take in whole lines; only the last line of the file may lack its line end."""
        if not self.in_quotes and b'"' not in region:
            self._feed_plain(region)
        else:
            for line in region.splitlines(keepends=True):
                self._feed_line(line)
        if region:
            self.last_byte = region[-1:]

    def _feed_plain(self, region: bytes) -> None:
        """Lines without a quote, outside a quoted field: every line end is a record boundary."""
        while self.targets and not self.stopped:
            at = self.targets[0] - self.offset - 1
            if at >= len(region):
                break
            found = [i for i in (region.find(b"\n", max(at, 0)), region.find(b"\r", max(at, 0))) if i >= 0]
            if not found:
                break
            end = min(found) + 1
            if region[end - 1] == _CR and region[end : end + 1] == b"\n":
                end += 1
            self._split(self.offset + end, self.lines + count_lines(region[:end]) + 1)
        self.lines += count_lines(region)
        self.offset += len(region)
        self.record_start = self.offset

    def _feed_line(self, line: bytes) -> None:
        if not self.in_quotes:
            self.record_start = self.offset
        start = len(BOM) if self.offset == 0 and line.startswith(BOM) else 0
        self.in_quotes = _still_quoted(line, start, self.in_quotes)
        self.offset += len(line)
        if line.endswith((b"\n", b"\r")):
            self.lines += 1
        if self.offset - self.record_start >= self.longest_record:
            self.stop_splitting()
        if not self.in_quotes and self.targets and self.offset >= self.targets[0] and not self.stopped:
            self._split(self.offset, self.lines + 1)

    def _split(self, offset: int, first_line: int) -> None:
        self.splits.append((offset, first_line))
        while self.targets and self.targets[0] <= offset:
            self.targets.pop(0)

    def ranges(self) -> list[ByteRange]:
        total = self.offset
        total_lines = self.lines + (0 if self.last_byte in (b"\n", b"\r") else 1)
        bounds = [(0, 1), *((o, f) for o, f in self.splits if o < total), (total, total_lines + 1)]
        return [
            ByteRange(start, end, first, next_first - first)
            for (start, first), (end, next_first) in zip(bounds, bounds[1:], strict=False)
        ] or [ByteRange(0, 0, 1)]


def _still_quoted(line: bytes, i: int, quoted: bool) -> bool:
    """Whether the ``csv`` reader (excel dialect, ``skipinitialspace``) is inside a quoted field after ``line``."""
    n = len(line)
    in_field = False
    while True:
        if quoted:
            j = line.find(b'"', i)
            if j < 0:
                return True
            if j + 1 < n and line[j + 1] == _QUOTE:
                i = j + 2
                continue
            quoted, i = False, j + 1
            if i >= n or line[i] in (_CR, _LF):
                return False
            if line[i] == _COMMA:
                i += 1
                continue
            in_field = True  # a character after the closing quote: the reader keeps it, unquoted
        if in_field:
            j = line.find(b",", i)
            if j < 0:
                return False
            in_field, i = False, j + 1
            continue
        while i < n and line[i] == _SPACE:
            i += 1
        if i >= n or line[i] in (_CR, _LF):
            return False
        if line[i] == _QUOTE:
            quoted, i = True, i + 1
        elif line[i] == _COMMA:
            i += 1
        else:
            in_field = True


def _read_full(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if not data or len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size and (more := stream.read(size - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)
