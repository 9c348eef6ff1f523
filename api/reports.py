"""The hiring reports: ``GET /report/hired-by-quarter`` and ``GET /report/hiring-above-average``, as JSON or CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from api.deps import services
from api.schemas import ErrorSchema, HiredByQuarterSchema, HiringAboveAverageSchema, ReportQuerySchema
from core.reports.hiring import (
    ABOVE_AVERAGE_COLUMNS,
    MEAN_DEFINITION,
    QUARTER_COLUMNS,
    hired_by_quarter,
    hiring_above_average,
    rows_as_csv,
)

blp = Blueprint("reports", __name__, description="Hiring reports for one calendar year (UTC)")


def csv_response(name: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> Response:
    response = Response(rows_as_csv(columns, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'inline; filename="{name}.csv"'
    return response


def _json_or_csv(schema: type, columns: Sequence[str], example: str) -> dict[str, Any]:
    csv_example = f"{','.join(columns)}\r\n{example}\r\n"
    content = {
        "application/json": {"schema": schema},
        "text/csv": {"schema": {"type": "string"}, "example": csv_example},
    }
    description = (
        "The report; text/csv with `format=csv`, where a text cell starting with `=`, `+`, `-`, `@`, a tab or "
        "a carriage return gets a leading `'` so that a spreadsheet shows it as text"
    )
    return {"responses": {"200": {"description": description, "content": content}}}


@blp.route("/report/hired-by-quarter", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query", error_status_code=400, as_kwargs=True)
@blp.response(200, HiredByQuarterSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="`year` is not a whole number from 1900 to 2100, or bad `format`"
)
@blp.doc(**_json_or_csv(HiredByQuarterSchema, QUARTER_COLUMNS, "Accounting,Account Representative IV,1,0,0,0"))
def get_hired_by_quarter(year: int, output: str) -> ResponseReturnValue:
    """Employees hired for each department and job in each quarter of the year.

    Quarters are half-open UTC ranges (Q1 is from January 1st 00:00 inclusive to April 1st 00:00 exclusive).
    Only department/job pairs with at least one hire that year appear, ordered by department name and then
    job name in plain Unicode code-point order (uppercase before lowercase), the same on every database.
    """
    report = hired_by_quarter(services().reports, year).as_dict()
    if output == "csv":
        return csv_response(f"hired-by-quarter-{year}", QUARTER_COLUMNS, report["rows"])
    return report


@blp.route("/report/hiring-above-average", methods=["GET"])
@blp.arguments(ReportQuerySchema, location="query", error_status_code=400, as_kwargs=True)
@blp.response(200, HiringAboveAverageSchema)
@blp.alt_response(
    400, schema=ErrorSchema, description="`year` is not a whole number from 1900 to 2100, or bad `format`"
)
@blp.doc(**_json_or_csv(HiringAboveAverageSchema, ABOVE_AVERAGE_COLUMNS, "8,Support,216"))
@blp.doc(description=f"{MEAN_DEFINITION}\n\nThe CSV form lists the rows only; the mean is in the JSON answer.")
def get_hiring_above_average(year: int, output: str) -> ResponseReturnValue:
    """Departments that hired more employees than the mean that year, most hires first, ties by id."""
    report = hiring_above_average(services().reports, year).as_dict()
    if output == "csv":
        return csv_response(f"hiring-above-average-{year}", ABOVE_AVERAGE_COLUMNS, report["rows"])
    return report
