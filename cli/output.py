"""Plain-text tables and progress bars for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tqdm import tqdm

from core.ingest.loader import LoadReporter
from core.unit_of_work import UnitOfWork
from domain.loads import TableCounts


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


class ProgressBars(LoadReporter):
    """One tqdm bar per table, advanced by bytes read, showing the row counts as it goes."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bars: dict[str, tqdm[Any]] = {}

    def loaded(self, uow: UnitOfWork, table: str, counts: TableCounts, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(table)
        if bar is None:
            bar = tqdm(total=total, desc=f"{table:<16}", unit="B", unit_scale=True, leave=True)
            self.bars[table] = bar
        bar.update(done - bar.n)
        bar.set_postfix(rows=counts.processed, rejected=counts.rejected, refresh=False)

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
