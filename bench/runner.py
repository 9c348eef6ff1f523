"""The bench runner: a list of independent benchmark functions, each returning its figures.

A benchmark that needs a service this run does not have (the HTTP API, Celery)
returns its figures with no value and a note, so the table keeps every row.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent


@dataclass
class Figure:
    """One line of the results table."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    ratio: float | None = None
    met: bool | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # What limits this figure, shown in the note only when the target is missed.
    if_missed: str = field(default="", repr=False)
    limit: float | None = None  # the honest limit, measured in the same run, in the same unit

    def __post_init__(self) -> None:
        if self.met is False and self.if_missed:
            self.note = "; ".join(filter(None, [self.note, self.if_missed]))


@dataclass
class Context:
    quick: bool
    data_dir: Path
    postgres_admin_url: str | None
    rows: int
    memory_rows: int
    backup_rows: int
    repeats: int
    invalid_share: float = 0.02
    named: tuple[str, ...] = ()  # the benchmarks asked for by name (--only)
    seconds: float = 0.0  # the whole run, once it is over

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


Benchmark = Callable[[Context], list[Figure]]


def against_limit(
    name: str,
    rows: int,
    seconds: list[float],
    limit_seconds: list[float],
    target: float,
    *,
    note: str = "",
    if_missed: str = "",
    details: dict[str, Any] | None = None,
) -> Figure:
    """Rows per second of the best run of a subject and of its limit, their ratio against ``target``."""
    measured, limit = rows / min(seconds), rows / min(limit_seconds)
    ratio = measured / limit
    return Figure(
        name,
        measured,
        "rows/s",
        f"≥ {target}× the limit",
        ratio,
        ratio >= target,
        note=note,
        limit=limit,
        details={"rows": rows, "seconds": seconds, "limit_seconds": limit_seconds, **(details or {})},
        if_missed=if_missed,
    )


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as elapsed: ...``, then ``elapsed[0]`` holds the seconds."""
    elapsed: list[float] = []
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.append(time.perf_counter() - start)


def run(benchmarks: list[Benchmark], ctx: Context) -> list[Figure]:
    figures: list[Figure] = []
    for benchmark in benchmarks:
        name = benchmark.__name__
        ctx.log(f"{name} …")
        try:
            found = benchmark(ctx)
        except Exception as error:  # one failing benchmark must not hide the others
            found = [Figure(name, None, "", note=f"failed: {type(error).__name__}: {str(error)[:200]}")]
        for figure in found:
            limit = f"(limit {_number(figure.limit)})" if figure.limit is not None else ""
            ctx.log(f"  {figure.name}: {_value(figure)} {figure.unit} {limit} {_ratio(figure)} {figure.note}".rstrip())
        figures.extend(found)
    return figures


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _value(figure: Figure) -> str:
    return _number(figure.value)


def _ratio(figure: Figure) -> str:
    return "" if figure.ratio is None else f"{figure.ratio:.2f}×"


def _met(figure: Figure) -> str:
    return {True: "yes", False: "**no**", None: "—"}[figure.met]


def write_results(figures: list[Figure], ctx: Context, command: str) -> tuple[Path, Path]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    lines = [
        "# Benchmark results",
        "",
        f"`{command}` — {stamp}, {machine}, {'quick run' if ctx.quick else 'full run'}: "
        f"{ctx.rows:,} employees ({ctx.invalid_share:.0%} invalid) for ingest, "
        f"{ctx.memory_rows:,} for memory, {ctx.backup_rows:,} for backup and restore; "
        f"best of {ctx.repeats} (a figure's note says when more), each subject interleaved with its limit. "
        f"The run took {ctx.seconds / 60:.1f} min; "
        f"load average at its end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "The limit of a figure is the same work done with nothing of the project in the way (see bench/limits.py), "
        "measured in the same run; the ratio is measured / limit. Plain rates move by a third or more with the "
        "load of the shared machine; the ratios much less.",
        "",
        "| figure | measured | limit | unit | ratio | target | met | note |",
        "| --- | ---: | ---: | --- | ---: | --- | --- | --- |",
    ]
    for f in figures:
        note = f.note.replace("|", "\\|")
        lines.append(
            f"| {f.name} | {_value(f)} | {_number(f.limit) if f.limit is not None else ''} | {f.unit} | "
            f"{_ratio(f)} | {f.target} | {_met(f)} | {note} |"
        )
    md = BENCH_DIR / "results.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    js = BENCH_DIR / "results.json"
    payload = {
        "command": command,
        "created": stamp,
        "machine": machine,
        "quick": ctx.quick,
        "rows": ctx.rows,
        "memory_rows": ctx.memory_rows,
        "backup_rows": ctx.backup_rows,
        "repeats": ctx.repeats,
        "seconds": ctx.seconds,
        "invalid_share": ctx.invalid_share,
        "figures": [asdict(f) for f in figures],
    }
    js.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return md, js


def table_text(figures: list[Figure]) -> str:
    width = max(len(f.name) for f in figures)
    rows = [
        f"{'figure'.ljust(width)}  {'measured':>12}  {'limit':>12}  {'unit':8}  {'ratio':>6}  {'met':4}  target / note"
    ]
    for f in figures:
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        limit = _number(f.limit) if f.limit is not None else ""
        rows.append(
            f"{f.name.ljust(width)}  {_value(f):>12}  {limit:>12}  {f.unit:8}  {_ratio(f):>6}  {met:4}  "
            f"{f.target}{'  — ' + f.note if f.note else ''}"
        )
    return "\n".join(rows)
