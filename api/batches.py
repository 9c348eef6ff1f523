"""Batch inserts, one service for every table: ``POST /departments``, ``/jobs``, ``/hired-employees``."""

from __future__ import annotations

import io
from typing import Any

from flask import request

from api.deps import services
from api.limits import read_body
from api.parsing import Blueprint, parse_json
from api.schemas import BatchResultSchema, ErrorSchema, RecordWindowQuerySchema, TaskCreatedSchema
from api.uploads import enqueue_from_storage, has_body, record_window
from core.ingest.csv_source import csv_records
from core.ingest.loader import MAX_RAW_CHARS, MAX_REQUEST_ROWS, BatchResult, insert_batch
from domain.entities import TABLES
from domain.errors import InvalidRequest, UnsupportedContentType

blp = Blueprint("batches", __name__, description="Insert 1 to 1000 rows of one table, validated row by row")

PATHS = {"departments": "/departments", "jobs": "/jobs", "hired_employees": "/hired-employees"}
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")


_JSON_NAMES = {dict: "object", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _example_row(table: str) -> dict[str, Any]:
    examples: dict[str, dict[str, Any]] = {
        "departments": {"id": 13, "department": "Supply Chain"},
        "jobs": {"id": 184, "job": "Data Engineer"},
        "hired_employees": {
            "id": 2001,
            "name": "Ada Lovelace",
            "datetime": "2021-11-07T02:48:42Z",
            "department_id": 5,
            "job_id": 96,
        },
    }
    return examples[table]


def _request_body_doc(table: str) -> dict[str, Any]:
    columns = TABLES[table].column_names
    return {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_REQUEST_ROWS,
                    "items": {"type": "object", "properties": {c: {} for c in columns}},
                },
                "example": [_example_row(table)],
            },
            "text/csv": {
                # At least one line that is not blank: blank lines carry no row, and a batch needs 1 to 1000 rows.
                "schema": {"type": "string", "pattern": r"[^\s\x1c-\x1f\x85]"},
                "example": ",".join(str(v) for v in _example_row(table).values()) + "\n",
            },
        },
    }


def read_records() -> tuple[list[tuple[int, Any]], bool]:
    """The rows, numbered from 1, and whether they came as CSV; bad shapes are refused before any database work."""
    mimetype = request.mimetype
    body = read_body()
    if not body:
        raise InvalidRequest(
            f"send a JSON array of 1 to {MAX_REQUEST_ROWS} row objects, or text/csv with 1 to {MAX_REQUEST_ROWS} lines"
        )
    if mimetype in JSON_TYPES:
        rows = parse_json(body)
        if not isinstance(rows, list):
            raise InvalidRequest(
                f"the body must be a JSON array of row objects, got a JSON {_JSON_NAMES.get(type(rows), 'value')}",
                {"expected": "array"},
            )
        return list(enumerate(rows, start=1)), False
    if mimetype in CSV_TYPES:
        records = []
        for number, (line, payload) in enumerate(csv_records(io.BytesIO(body)), start=1):
            if number > MAX_REQUEST_ROWS + 1:  # one more than the cap: enough to refuse, no need to parse on
                break
            records.append((line, payload))
        return records, True
    raise UnsupportedContentType(
        f"Content-Type {mimetype or '(none)'} is not accepted; use application/json or text/csv",
        {"accepted": list(JSON_TYPES + CSV_TYPES)},
    )


def result_body(table: str, result: BatchResult, records: list[tuple[int, Any]], as_csv: bool) -> dict[str, Any]:
    if not result.rejected:
        return {"table": table, **result.counts.as_dict(), "rejected": []}
    index_of = {position: index for index, (position, _payload) in enumerate(records)}
    payload_of = dict(records)
    rejected = []
    for row in result.rejected:
        entry: dict[str, Any] = {"index": index_of.get(row.position, -1)}
        if as_csv:
            entry["line"] = row.position
        original = payload_of.get(row.position)
        if as_csv and isinstance(original, list):
            original = [_spelt_out(field) for field in original]
        entry["record"] = original if len(row.raw) < MAX_RAW_CHARS and not hasattr(original, "code") else row.raw
        entry["reasons"] = [reason.as_dict() for reason in row.reasons]
        rejected.append(entry)
    return {"table": table, **result.counts.as_dict(), "rejected": rejected}


def _spelt_out(field: Any) -> Any:
    """Bytes of a CSV field that are not UTF-8 arrive as lone surrogates; the answer shows them as escapes."""
    return field.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(field, str) else field


def insert_rows(table: str) -> dict[str, Any]:
    records, as_csv = read_records()
    # Refused while a restore of the table is pending or running: its replacement would wipe the rows after a
    # 200 said they were stored.
    result = insert_batch(services().database, table, records, source=f"api:{table}", skip_header=as_csv)
    return result_body(table, result, records, as_csv)


def _make_route(table: str) -> None:
    def view(**window: int) -> Any:
        if not has_body():
            return enqueue_from_storage([table], record_window(**window))
        if window:
            raise InvalidRequest(
                "start and limit choose records of the file in storage: send them with no body",
                {"parameters": sorted(window)},
            )
        return insert_rows(table)

    view.__name__ = f"insert_{table}"
    view.__doc__ = (
        f"Insert 1 to {MAX_REQUEST_ROWS} {table} rows.\n\n"
        "Every row is validated against the data dictionary; all fields are required. Rows that break a rule "
        "are not inserted: they are listed under `rejected` with their reasons and logged in `rejected_rows`. "
        "Valid rows in the same request are inserted. A row whose id already exists with the same content is "
        "counted in `already_exists`; with different content it is rejected as a `conflict`. While a restore "
        f"of {table} is pending or running, the rows are refused with 409 naming that task.\n\n"
        f"With no body at all, `{table}.csv` in storage is migrated in the background instead: 202 with a task id; "
        "`start` and `limit` then load only a window of its records (`start` skipped, counted from 0 after the "
        "header line, then at most `limit`)."
    )
    decorated = blp.arguments(RecordWindowQuerySchema, location="query", as_kwargs=True, error_status_code=400)(view)
    decorated = blp.doc(requestBody=_request_body_doc(table))(decorated)
    decorated = blp.response(200, BatchResultSchema)(decorated)
    decorated = blp.alt_response(202, schema=TaskCreatedSchema, description="No body: the CSV file is queued")(
        decorated
    )
    for status, text in (
        (
            400,
            "Not an array, empty, or not strict JSON (a key twice in an object, NaN, a lone surrogate...); "
            "`start` / `limit` not a whole number in range, or sent with a body",
        ),
        (404, f"No body, and {table}.csv is missing from storage"),
        (409, f"A restore of {table} is pending or running"),
        (413, "More than 1000 rows, or a body larger than MAX_REQUEST_BYTES"),
        (415, "Neither application/json nor text/csv"),
        (503, "The database or the broker is down"),
    ):
        decorated = blp.alt_response(status, schema=ErrorSchema, description=text)(decorated)
    blp.route(PATHS[table], methods=["POST"], endpoint=f"insert_{table}")(decorated)


for _table in TABLES:
    _make_route(_table)
