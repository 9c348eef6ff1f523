"""Plain-text tables and progress bars for the terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tqdm import tqdm

from domain.background_jobs import JobProgress


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns of numbers align right, every other column aligns left."""
    cells = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [bool(rows) and all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w) for v, w, right in zip(row, widths, numeric, strict=False)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


class _Bars:
    """tqdm bars whose rate is their step's mean rows/s.

    Work is reported after it is done, so a bar made at the first report of its step starts its clock at
    the report before (the end of the previous step): made at that report, it would divide the first
    chunk's rows by a few microseconds and show millions of rows/s.
    """

    def __init__(self, enabled: bool, clock: Callable[[], float]) -> None:
        self.enabled = enabled
        self.clock = clock
        self.bars: dict[tuple[str, str], tqdm[Any]] = {}
        self.last_report = clock()

    def bar(self, key: tuple[str, str], description: str, total: int | None = None) -> tqdm[Any]:
        bar = self.bars.get(key)
        if bar is None:
            bar = tqdm(total=total, desc=description, unit=" rows", leave=True, smoothing=0)
            bar.start_t = bar.last_print_t = self.last_report
            self.bars[key] = bar
        return bar

    def advance(self, bar: tqdm[Any], done: int) -> None:
        if done != bar.n:
            bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class ProgressBars(_Bars):
    """One bar per table of a running ingest task, advanced by rows as each batch commits.

    Called with each progress the task records (``run_job(observe=...)``); a table's bar appears with its
    first batch.
    """

    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.time) -> None:
        super().__init__(enabled, clock)

    def __call__(self, job_id: str, progress: JobProgress) -> None:
        if not self.enabled:
            return
        for table, counts in progress.counts.items():
            if (job_id, table) not in self.bars and not counts.get("processed"):
                continue
            bar = self.bar((job_id, table), f"{table:<16}")
            bar.set_postfix(rejected=counts.get("rejected", 0), refresh=False)
            self.advance(bar, counts.get("processed", 0))
        self.last_report = self.clock()


def counts_table(results: Mapping[str, Any]) -> str:
    rows = [[table, c.processed, c.inserted, c.already_exists, c.rejected] for table, c in results.items()]
    return format_table(["table", "processed", "inserted", "already_exists", "rejected"], rows)


class RowProgressBars(_Bars):
    """One bar per table and phase (backup, verify, restore), advanced by rows."""

    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.time) -> None:
        super().__init__(enabled, clock)

    def __call__(self, table: str, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bar((table, phase), f"{phase} {table:<16}", total)
        self.advance(bar, done)
        if done >= total:
            bar.close()
        self.last_report = self.clock()
