"""The three tables of the hiring data, as entities and as the specs that validate raw rows."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from domain.errors import UnknownTable
from domain.rules import (
    CANONICAL_DATETIME,
    CANONICAL_ID,
    CANONICAL_NAME,
    Reason,
    accept_datetime,
    accept_datetimes,
    accept_id,
    accept_ids,
    accept_name,
    accept_names,
    canonical_datetime_text,
    canonical_name,
    parse_datetime,
    parse_id,
    parse_name,
)


class Department(NamedTuple):
    id: int
    department: str


class Job(NamedTuple):
    id: int
    job: str


class HiredEmployee(NamedTuple):
    id: int
    name: str
    datetime: datetime  # UTC
    department_id: int
    job_id: int


Entity = Department | Job | HiredEmployee
Parser = Callable[[object, str], Any]
Acceptor = Callable[[object], Any]

# Each parser's common case (see domain.rules); a column whose parser is not here always takes the full path.
ACCEPTORS: dict[Parser, Acceptor] = {parse_id: accept_id, parse_name: accept_name, parse_datetime: accept_datetime}
ColumnAcceptor = Callable[[Sequence[object]], Sequence[Any] | None]
COLUMN_ACCEPTORS: dict[Parser, ColumnAcceptor] = {
    parse_id: accept_ids,
    parse_name: accept_names,
    parse_datetime: accept_datetimes,
}
_new_tuple = tuple.__new__


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    references: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """What a row of one table must look like, and how raw values become an entity."""

    name: str
    entity: type[Any]
    columns: tuple[Column, ...]
    column_names: tuple[str, ...] = field(init=False)
    references: tuple[tuple[int, Column], ...] = field(init=False)
    acceptors: tuple[Acceptor, ...] | None = field(init=False, repr=False, compare=False)
    column_acceptors: tuple[ColumnAcceptor, ...] | None = field(init=False, repr=False, compare=False)
    parse_line: Callable[[str], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))
        refs = tuple((i, c) for i, c in enumerate(self.columns) if c.references)
        object.__setattr__(self, "references", refs)
        acceptors = tuple(ACCEPTORS.get(c.parse) for c in self.columns)
        object.__setattr__(self, "acceptors", None if None in acceptors else acceptors)
        by_column = tuple(COLUMN_ACCEPTORS.get(c.parse) for c in self.columns)
        object.__setattr__(self, "column_acceptors", None if None in by_column else by_column)
        object.__setattr__(self, "parse_line", _line_parser(self))

    def plain_line_parser(
        self, moment: Callable[[str], Any] | None = None, of_datetime: Callable[[datetime], Any] | None = None
    ) -> Callable[[str], tuple[Any, ...] | None]:
        """``parse_line`` giving the entity's values as a plain tuple, and, with ``moment``, a valid datetime as
        ``moment(text)`` of its canonical text (``2021-11-07T02:48:42``, UTC) instead of the datetime: a load that
        stores the datetime in another form takes the line straight into it, without making the datetime and
        turning it back into text. With ``of_datetime``, the datetime as ``of_datetime(datetime)``."""
        return _line_parser(self, plain=True, moment=moment, of_datetime=of_datetime)

    def line_of(self, entity: Any) -> str:
        """The canonical CSV line of an entity ``parse_line`` gave, without its line end: its raw record."""
        return ",".join(canonical_datetime_text(v) if type(v) is datetime else str(v) for v in entity)

    def validate(self, values: Sequence[object]) -> Any:
        """Return the entity, or the list of every rule the row breaks (reference checks excepted)."""
        # Fast path for plainly valid rows; any doubt goes to the per-column parsers, which also give the reasons.
        acceptors = self.acceptors
        if acceptors is not None and len(values) == len(acceptors):
            clean = tuple(map(operator.call, acceptors, values))
            if None not in clean:
                return _new_tuple(self.entity, clean)
        return self.validate_each_column(values)

    def accept_all(self, rows: Sequence[Sequence[object]]) -> list[tuple[Any, ...]] | None:
        """The values of the entities of ``rows`` when every one is plainly valid, checked a column at a time;
        else None, and ``validate`` gives each row its entity or its reasons. Where it gives a list, it holds
        what ``validate`` gives row by row, as plain tuples: the garbage collector forgets a tuple of plain
        values, but scans each entity (a tuple subclass) that lives a while, again and again."""
        acceptors = self.column_acceptors
        if acceptors is None or not rows or set(map(len, rows)) != {len(acceptors)}:
            return None
        clean = []
        for index, accept in enumerate(acceptors):
            # Not zip(*rows), which makes an iterator per row: the collector then moves thousands of them
            # to its oldest generation, and scans the whole heap every 100 000 rows.
            column = accept(list(map(operator.itemgetter(index), rows)))
            if column is None:
                return None
            clean.append(column)
        return list(zip(*clean, strict=True))

    def validate_each_column(self, values: Sequence[object]) -> Any:
        """``validate`` without the fast path: each value through its column's parser."""
        if len(values) != len(self.columns):
            return [
                Reason(
                    "wrong_column_count",
                    f"expected {len(self.columns)} fields ({', '.join(self.column_names)}), got {len(values)}",
                )
            ]
        clean: list[object] = []
        reasons: list[Reason] = []
        for column, value in zip(self.columns, values, strict=False):
            result = column.parse(value, column.name)
            if type(result) is Reason:
                reasons.append(result)
            else:
                clean.append(result)
        if reasons:
            return reasons
        return self.entity._make(clean)

    def validate_mapping(self, record: object) -> Any:
        """Validate a JSON object: every column is required and no other key is accepted."""
        if not isinstance(record, Mapping):
            return [Reason("wrong_type", f"each row must be a JSON object with {', '.join(self.column_names)}")]
        unknown = [key for key in record if key not in self.column_names]
        values = [record.get(name) for name in self.column_names]
        result = self.validate(values)
        if unknown:
            extra = Reason("unknown_field", f"unknown field(s): {', '.join(map(str, unknown))[:200]}")
            return (result if isinstance(result, list) else []) + [extra]
        return result

    def is_header(self, values: Sequence[str]) -> bool:
        return [v.strip().lower() for v in values] == list(self.column_names)

    def is_header_record(self, record: tuple[int, Any]) -> bool:
        """Whether a numbered record ``(line, payload)`` is this table's header line."""
        return type(record[1]) is list and self.is_header(record[1])


def _line_parser(
    spec: TableSpec,
    *,
    plain: bool = False,
    moment: Callable[[str], Any] | None = None,
    of_datetime: Callable[[datetime], Any] | None = None,
) -> Callable[[str], Any]:
    """``parse_line`` for the spec: the entity of a canonical CSV line (``1,Ana Silva,2021-11-07T02:48:42Z,2,96``),
    else None. One compiled pattern takes the line; the values it captures are exactly the fields csv.reader gives.

    The fast path of a CSV load: a line it does not take goes through csv.reader and ``validate``, which give
    the same entity for every line it takes (tests/unit/test_fast_validation.py). Written out for the two
    shapes of row there are, as a generic loop over the columns costs as much as the pattern. ``plain`` and
    ``moment`` and ``of_datetime``: see ``TableSpec.plain_line_parser``.
    """
    kinds = tuple(column.parse for column in spec.columns)
    new, entity, fromisoformat = _new_tuple, spec.entity, datetime.fromisoformat
    if kinds == (parse_id, parse_name):
        fullmatch = _line_pattern(CANONICAL_ID, CANONICAL_NAME)

        def parse_named(line: str) -> Any:
            match = fullmatch(line)
            if match is None:
                return None
            row_id, name = match.groups()
            if canonical_name(name) is None:
                return None
            return (int(row_id), name) if plain else new(entity, (int(row_id), name))

        return parse_named
    if kinds == (parse_id, parse_name, parse_datetime, parse_id, parse_id):
        fullmatch = _line_pattern(CANONICAL_ID, CANONICAL_NAME, CANONICAL_DATETIME, CANONICAL_ID, CANONICAL_ID)

        def parse_dated(line: str) -> Any:
            match = fullmatch(line)
            if match is None:
                return None
            row_id, name, when, first, second = match.groups()
            # The common case of canonical_name inlined: a call costs a tenth of the time of a row.
            if not (name.isascii() and name.isprintable()) and canonical_name(name) is None:
                return None
            try:
                clean = fromisoformat(when)  # the pattern checked the year; this checks the day and the time
            except ValueError:
                return None
            if plain:
                if moment is not None:
                    return (int(row_id), name, moment(when), int(first), int(second))
                if of_datetime is not None:
                    return (int(row_id), name, of_datetime(clean), int(first), int(second))
                return (int(row_id), name, clean, int(first), int(second))
            return new(entity, (int(row_id), name, clean, int(first), int(second)))

        return parse_dated
    return _no_line


def _line_pattern(*fields: str) -> Callable[[str], re.Match[str] | None]:
    """One physical line: the fields, a comma between each, and its line end (none on the last line)."""
    return re.compile(",".join(fields) + "(?:\r\n?|\n)?").fullmatch


def _no_line(_line: str) -> None:
    return None


DEPARTMENTS = TableSpec("departments", Department, (Column("id", parse_id), Column("department", parse_name)))
JOBS = TableSpec("jobs", Job, (Column("id", parse_id), Column("job", parse_name)))
HIRED_EMPLOYEES = TableSpec(
    "hired_employees",
    HiredEmployee,
    (
        Column("id", parse_id),
        Column("name", parse_name),
        Column("datetime", parse_datetime),
        Column("department_id", parse_id, references="departments"),
        Column("job_id", parse_id, references="jobs"),
    ),
)

# Load order: a table comes after the tables it references.
TABLES: dict[str, TableSpec] = {t.name: t for t in (DEPARTMENTS, JOBS, HIRED_EMPLOYEES)}


def table_spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTable(name) from None


def unknown_reference(column: Column, value: int) -> Reason:
    return Reason(
        "unknown_reference",
        f"{column.name} {value} does not exist in {column.references}",
        column.name,
    )


def conflict(table: str, row_id: int) -> Reason:
    return Reason(
        "conflict",
        f"{table} id {row_id} already exists with different content; it is not overwritten",
        "id",
    )


def line_too_long(limit: int) -> Reason:
    return Reason("line_too_long", f"the line is longer than {limit} characters")


def malformed_csv(detail: str) -> Reason:
    return Reason("malformed_csv", f"the line is not valid CSV: {detail}")
