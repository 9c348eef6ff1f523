"""``report hired-by-quarter`` and ``report hiring-above-average``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bootstrap import bootstrap
from cli.output import format_table
from core.reports.hiring import (
    ABOVE_AVERAGE_COLUMNS,
    DEFAULT_YEAR,
    MEAN_DEFINITION,
    QUARTER_COLUMNS,
    hired_by_quarter,
    hiring_above_average,
    rows_as_csv,
)

REPORTS = {
    "hired-by-quarter": (hired_by_quarter, QUARTER_COLUMNS, "employees hired per department and job, by quarter"),
    "hiring-above-average": (hiring_above_average, ABOVE_AVERAGE_COLUMNS, "departments that hired above the mean"),
}


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser("report", help="print a hiring report", description=MEAN_DEFINITION)
    kinds = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    for name, (_use_case, _columns, help_text) in REPORTS.items():
        kind = kinds.add_parser(name, help=help_text)
        kind.add_argument("--year", type=int, default=DEFAULT_YEAR, help=f"calendar year, UTC (default {DEFAULT_YEAR})")
        kind.add_argument("--format", choices=("table", "csv", "json"), default="table", help="default: table")
        kind.set_defaults(handler=print_report)


def print_report(args: argparse.Namespace) -> int:
    use_case, columns, _help = REPORTS[args.report]
    services = bootstrap(create_tables=False)
    try:
        report: dict[str, Any] = use_case(services.reports, args.year).as_dict()
    finally:
        services.dispose()
    print(render(report, columns, args.format), end="")
    return 0


def render(report: dict[str, Any], columns: tuple[str, ...], output: str) -> str:
    if output == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if output == "csv":
        return rows_as_csv(columns, report["rows"])
    lines = [f"year {report['year']}"]
    if "mean" in report:
        lines.append(f"mean {report['mean']:.2f} hires per department")
    lines.append(format_table(columns, [[row[c] for c in columns] for row in report["rows"]]))
    return "\n".join(lines) + "\n"
