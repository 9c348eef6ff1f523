"""``Prepared``: a Core statement compiled once per dialect and run through ``exec_driver_sql``.

A load writes its checkpoint, its batch summary, its progress and its rejections after every 1000-row batch.
Through ``Connection.execute`` each of those statements is looked up in SQLAlchemy's compiled cache (a cache key
built from the whole statement) and its parameters processed one by one: about a third of a millisecond each,
a fifth of a SQLite load's time. Compiled once, with the column types' own conversions applied to the values
here, the same statement costs what the driver costs. The events of the connection still run, so a SQLite
write takes its writer's turn as before (``infra/db/engine.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """One statement with named ``bindparam``s, compiled for ``dialect``; ``run`` takes the values by name."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"not a SQL statement: {statement!r}")
        self.sql = str(compiled)
        self.names: list[str] = list(compiled.positiontup or ()) if compiled.positional else []
        self.processors: dict[str, Callable[[Any], Any]] = {}
        # The values written into the statement itself (a literal 0, say), by the name the SQL gives them (an
        # anonymous one gets its name at compile time); every named ``bindparam`` must be given.
        self.fixed: dict[str, Any] = {}
        for bind in compiled.binds.values():
            name = compiled.bind_names[bind]
            if not bind.required:
                self.fixed[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors[name] = process

    def converted(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """``values`` with the column types' own conversions applied."""
        processors = self.processors
        if not processors:
            return values
        return {name: processors[name](v) if name in processors else v for name, v in values.items()}

    def parameters(self, values: Mapping[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        values = self.converted(values)
        if self.names:
            return tuple(values[name] for name in self.names)
        return dict(values)

    def run(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self.parameters(values))

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        conn.exec_driver_sql(self.sql, [self.parameters(row) for row in rows])

    def run_many_shared(
        self, conn: Connection, shared: Mapping[str, Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``run_many`` of rows that give ``columns`` in that order and share the values of ``shared``. Where the
        statement takes exactly those, in that order, with no conversion of the rows' own values, each row's
        parameters are the row and the shared values, converted once: a load's rejected rows took 12 µs each
        through ``parameters``, a mapping made and converted a row."""
        names = [*columns, *shared]
        if self.names == names and not self.fixed and not any(column in self.processors for column in columns):
            tail = tuple(self.converted(shared).values())
            conn.exec_driver_sql(self.sql, [(*row, *tail) for row in rows])
            return
        values = tuple(shared.values())
        self.run_many(conn, [dict(zip(names, (*row, *values), strict=True)) for row in rows])


def prepared(build: Callable[[], ClauseElement]) -> Callable[[Dialect], Prepared]:
    """``@prepared`` on a function that builds a statement: called with a dialect, it gives that statement compiled
    for it, once per dialect."""

    @functools.cache
    def for_dialect(dialect: Dialect) -> Prepared:
        return Prepared(build(), dialect)

    return for_dialect
