"""Read stored rows back: ``GET /departments``, ``/jobs``, ``/hired-employees`` a page at a time, and one row by id.

Pages use keyset pagination on the id: each answer says after which id the next page starts, so a page
costs the same at any depth and no row is shown twice, whatever is inserted meanwhile. Nothing here
changes a row: rows change only through inserts and restores.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from api.batches import PATHS
from api.deps import services
from api.parsing import Blueprint
from api.schemas import ROW_SCHEMAS, EmployeeRowsQuerySchema, ErrorSchema, RowsQuerySchema, row_page_schema
from core.rows.ports import RowFilter
from core.rows.read import MAX_LIMIT, read_row, read_rows
from domain.entities import TABLES

blp = Blueprint("rows", __name__, description="Read stored rows back, a page at a time in id order, or one by id")

FILTERS = ("min_id", "max_id", "department_id", "job_id", "hired_from", "hired_before")


def next_link(after_id: int) -> str:
    """This request again, starting after ``after_id``: same filters, same limit."""
    args = request.args.to_dict(flat=True)
    args["after_id"] = str(after_id)
    return f"{request.path}?{urlencode(args)}"


def _make_routes(table: str) -> None:
    path = PATHS[table]
    query_schema = EmployeeRowsQuerySchema if table == "hired_employees" else RowsQuerySchema

    def list_view(query: dict[str, Any]) -> dict[str, Any]:
        filters = RowFilter(**{name: query[name] for name in FILTERS if name in query})
        page = read_rows(services().rows, table, filters, after_id=query["after_id"], limit=query["limit"])
        following = page.next_after_id
        return {
            "items": page.items,
            "limit": query["limit"],
            "next_after_id": following,
            "next": None if following is None else next_link(following),
        }

    def one_view(row_id: int) -> dict[str, Any]:
        return read_row(services().rows, table, row_id)

    list_view.__name__ = f"list_{table}"
    list_view.__doc__ = (
        f"Stored {table} rows in id order, at most `limit` ({MAX_LIMIT} at most) a page.\n\n"
        "Keyset pagination: the first page has `after_id=0` (the default); each answer gives `next_after_id` "
        "and `next` (the same request for the next page, filters kept), both null on the last page. "
        "The filters combine; id bounds are inclusive"
        + (
            ", `hired_from` is inclusive and `hired_before` exclusive (times in UTC)."
            if table == "hired_employees"
            else "."
        )
    )
    one_view.__name__ = f"get_{table}_row"
    one_view.__doc__ = f"One stored {table} row by its id; 404 when no row has it."

    listed = blp.arguments(query_schema, location="query", error_status_code=400)(list_view)
    listed = blp.response(200, row_page_schema(table))(listed)
    listed = blp.alt_response(400, schema=ErrorSchema, description="A parameter is not a valid value, or unknown")(
        listed
    )
    blp.route(path, methods=["GET"], endpoint=f"list_{table}")(listed)

    one = blp.response(200, ROW_SCHEMAS[table])(one_view)
    one = blp.alt_response(404, schema=ErrorSchema, description=f"No {table} row has this id")(one)
    blp.route(f"{path}/<int:row_id>", methods=["GET"], endpoint=f"get_{table}_row")(one)


for _table in TABLES:
    _make_routes(_table)
