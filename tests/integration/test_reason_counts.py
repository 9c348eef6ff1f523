"""A load's summary counts the refused rows by reason in the database (one statement), and the count is the one that
reading back every refused row gives: a row counts once under each of its reasons, the same reason twice in a row
once, another job's rows not at all."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from core.ingest.rejections import job_rejections, top_reasons
from domain.loads import RejectedRow
from domain.rules import Reason
from infra.db import ingest_log

JOB = "5a0c1a52-0000-4000-8000-0000000000d1"
OTHER = "5a0c1a52-0000-4000-8000-0000000000d2"


def missing(field: str) -> Reason:
    return Reason("missing", f"{field} is required and is empty", field)


def refused(job: str, table: str, line: int, *reasons: Reason) -> RejectedRow:
    return RejectedRow(table, "file.csv", line, f"line {line}", list(reasons), job, 1)


def test_the_reasons_counted_by_the_database_are_those_of_every_refused_row(
    services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        refused(JOB, "hired_employees", 1, missing("name"), missing("datetime")),
        refused(JOB, "hired_employees", 2, missing("name"), missing("name")),
        refused(JOB, "hired_employees", 3, Reason("not_an_integer", "id is not a whole number", "id")),
        refused(JOB, "hired_employees", 4, Reason("malformed_csv", "unclosed quote")),
        refused(JOB, "hired_employees", 5, Reason("malformed_csv", "unclosed quote"), Reason("conflict", "id 7", "")),
        refused(JOB, "departments", 6, missing("department")),
        refused(OTHER, "hired_employees", 7, missing("name")),
    ]
    rows += [refused(JOB, "jobs", 100 + i, missing("job")) for i in range(1500)]  # more than one page
    with services.database() as tx:
        tx.rejections.add(rows)
        tx.commit()
    with services.database() as tx:
        in_database = sorted(tx.rejections.reason_counts(JOB) or [])
    every_row: Counter[tuple[str, str, str | None]] = Counter()
    for row in job_rejections(services.database, JOB):
        every_row.update({(row["table"], r["code"], r.get("field") or None) for r in row["reasons"]})
    assert in_database == sorted((*key, count) for key, count in every_row.items())
    expected = {
        "hired_employees": Counter(
            {"missing name": 2, "missing datetime": 1, "not_an_integer id": 1, "malformed_csv": 2, "conflict": 1}
        ),
        "departments": Counter({"missing department": 1}),
        "jobs": Counter({"missing job": 1500}),
    }
    assert top_reasons(services.database, JOB) == expected
    monkeypatch.setattr(ingest_log, "_REASON_COUNTS", {})  # a database that cannot count them: every page is read
    assert top_reasons(services.database, JOB) == expected
