"""What readers learn of a database error that failed a job: what happened, never the database's own text."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

from infra.broker.tasks import explain_failure

RAW = 'duplicate key value violates unique constraint "hired_employees_pkey" CONTEXT: COPY hired_employees, line 3'


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (IntegrityError("COPY hired_employees", {}, Exception(RAW)), "refused a write that broke one of its rules"),
        (DataError("INSERT INTO jobs", {}, Exception(RAW)), "refused a value it cannot store"),
        (ProgrammingError("SELECT", {}, Exception(RAW)), "the database failed while running the task"),
    ],
)
def test_a_database_error_is_explained_without_its_text(error, said):
    explained = explain_failure(error)

    assert explained is not None and said in explained
    assert "hired_employees" not in explained and "COPY" not in explained


def test_an_error_from_elsewhere_is_left_to_the_generic_message():
    assert explain_failure(ValueError(RAW)) is None
