"""Read rows back: a page in id order (keyset pagination: the next page starts after the last id), or one row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.rows.ports import RowFilter, RowQueries
from domain.entities import table_spec
from domain.errors import InvalidRequest, RowNotFound
from domain.rules import MAX_ID

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class RowPage:
    items: list[dict[str, Any]]
    # The ``after_id`` of the next page; ``None`` on the last page.
    next_after_id: int | None


def read_rows(
    queries: RowQueries, table: str, filters: RowFilter, after_id: int = 0, limit: int = DEFAULT_LIMIT
) -> RowPage:
    """Rows of ``table`` with an id above ``after_id`` that pass ``filters``, at most ``limit``, in id order."""
    spec = table_spec(table)
    if table != "hired_employees" and (misplaced := filters.employee_only()):
        raise InvalidRequest(f"{table} has no {', '.join(misplaced)} to filter on", {"filters": misplaced})
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}", {"limit": limit})
    # One row more than asked says whether another page follows, without counting the table.
    rows = queries.page(table, filters, after_id, limit + 1)
    items = [dict(zip(spec.column_names, row, strict=True)) for row in rows[:limit]]
    return RowPage(items, items[-1]["id"] if len(rows) > limit else None)


def read_row(queries: RowQueries, table: str, row_id: int) -> dict[str, Any]:
    """The row of ``table`` with this id; ``RowNotFound`` when there is none."""
    spec = table_spec(table)
    row = queries.one(table, row_id) if 1 <= row_id <= MAX_ID else None  # no row holds an id out of range
    if row is None:
        raise RowNotFound(f"{table} has no row with id {row_id}", {"table": table, "id": row_id})
    return dict(zip(spec.column_names, row, strict=True))
