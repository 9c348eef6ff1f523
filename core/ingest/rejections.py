"""The rows a job refused, read back: as CSV for people, and summed up by reason for a run's summary."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

from core.csv_export import SpreadsheetSafeWriter
from core.unit_of_work import UnitOfWorkFactory

PAGE = 1000
CSV_HEADER = ("table", "source", "line", "batch", "record", "reasons")


def job_rejections(uow: UnitOfWorkFactory, job_id: str) -> Iterator[dict[str, Any]]:
    """Every row the job refused, in file order, read a page at a time."""
    offset = 0
    while True:
        with uow() as tx:
            rows = tx.rejections.page(job_id, limit=PAGE, offset=offset)
        yield from rows
        if len(rows) < PAGE:
            return
        offset += PAGE


def reasons_text(row: dict[str, Any]) -> str:
    return "; ".join(f"{reason['code']}: {reason['message']}" for reason in row["reasons"])


def rejections_csv(uow: UnitOfWorkFactory, job_id: str) -> Iterator[str]:
    """The job's rejections as CSV text, a page at a time: a header, then one line per refused row (CRLF).

    A cell that a spreadsheet would run as a formula is neutralised (see ``core.csv_export``).
    """
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(CSV_HEADER)
    for count, row in enumerate(job_rejections(uow, job_id), start=1):
        writer.writerow([row["table"], row["source"], row["line"], row["batch"], row["record"], reasons_text(row)])
        if count % PAGE == 0:
            yield _drain(out)
    yield _drain(out)


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def reason_label(reason: dict[str, Any]) -> str:
    """``missing department_id``: the reason's code, and the field it concerns when it names one."""
    return f"{reason['code']} {reason['field']}" if reason.get("field") else str(reason["code"])


def top_reasons(uow: UnitOfWorkFactory, job_id: str) -> dict[str, Counter[str]]:
    """Per table, how many refused rows gave each reason (a row with two reasons counts under both), counted by the
    database where it can: a large load's summary then does not read back every rejected row. Equal counts the
    database gave keep the reasons' alphabetical order."""
    with uow() as tx:
        counts = tx.rejections.reason_counts(job_id)
    found: dict[str, Counter[str]] = {}
    if counts is None:
        for row in job_rejections(uow, job_id):
            found.setdefault(row["table"], Counter()).update({reason_label(reason) for reason in row["reasons"]})
        return found
    for table, code, field, rows in sorted(counts, key=lambda count: (count[0], count[1], count[2] or "")):
        found.setdefault(table, Counter())[reason_label({"code": code, "field": field})] += rows
    return found
