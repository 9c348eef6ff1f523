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


class ProgressBars:
    """One tqdm bar per table of a running ingest task, advanced by rows as each batch commits.

    Called with each progress the task records (``run_job(observe=...)``). A table's bar appears with its
    first batch but counts its time from the batch before (the previous table's last), so that its rate is
    the table's mean rows/s.
    """

    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.enabled = enabled
        self.clock = clock
        self.bars: dict[tuple[str, str], tqdm[Any]] = {}
        self.last_seen = clock()

    def __call__(self, job_id: str, progress: JobProgress) -> None:
        if not self.enabled:
            return
        for table, counts in progress.counts.items():
            bar = self.bars.get((job_id, table))
            if bar is None and not counts.get("processed"):
                continue
            if bar is None:
                bar = tqdm(desc=f"{table:<16}", unit=" rows", leave=True, smoothing=0)
                bar.start_t = bar.last_print_t = self.last_seen
                self.bars[(job_id, table)] = bar
            if counts.get("processed", 0) != bar.n:
                bar.set_postfix(rejected=counts.get("rejected", 0), refresh=False)
                bar.update(counts.get("processed", 0) - bar.n)
        self.last_seen = self.clock()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def counts_table(results: Mapping[str, Any]) -> str:
    rows = [[table, c.processed, c.inserted, c.already_exists, c.rejected] for table, c in results.items()]
    return format_table(["table", "processed", "inserted", "already_exists", "rejected"], rows)


class RowProgressBars:
    """One tqdm bar per table and phase (backup, verify, restore), advanced by rows."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bars: dict[tuple[str, str], tqdm[Any]] = {}

    def __call__(self, table: str, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get((table, phase))
        if bar is None:
            bar = tqdm(total=total, desc=f"{phase} {table:<16}", unit=" rows", leave=True)
            self.bars[(table, phase)] = bar
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
