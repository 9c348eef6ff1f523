"""PostgreSQL through psycopg's own cursor, inside the unit of work's transaction.

A batch of a load runs a handful of statements on PostgreSQL: the existence check, the COPY of its
new rows, its rejections, its checkpoint. Sent through SQLAlchemy, each costs more Python time than
the server spends on it; sent here, each is one round trip with no work around it. Errors come out
as the classes SQLAlchemy would raise (``IntegrityError``, ``OperationalError``, ...), so callers
handle one kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Dialect, Integer, String, Table
from sqlalchemy.exc import DBAPIError


def uses_psycopg(dialect: Dialect) -> bool:
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


@contextmanager
def driver_cursor(conn: Connection, statement: str) -> Iterator[Any]:
    """psycopg's cursor on ``conn``'s connection, in the transaction SQLAlchemy commits or rolls back."""
    if not conn.in_transaction():
        conn.begin()  # else the statements below would escape SQLAlchemy's commit() and rollback()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        yield cursor
    except driver_error as error:
        raise DBAPIError.instance(statement, None, error, driver_error, dialect=conn.dialect) from error
    finally:
        cursor.close()


def column_list(table: Table) -> str:
    return ", ".join(c.name for c in table.columns)


# PostgreSQL checks each foreign key of each copied row with a query on the parent table, planned once per
# connection. With its default random_page_cost (4, a spinning disk's) it plans a scan of the whole parent
# for a parent table of a page or two: 11 µs a row on the 183 jobs, against 3 µs through the primary key
# (EXPLAIN ANALYZE of a 1000-row insert). 1.1, the usual value for data in memory or on SSD, for this
# transaction only, makes it use the key for jobs; 1000-row COPYs into hired_employees took 3 to 4 ms less.
INDEXED_REFERENCE_CHECKS = "SET LOCAL random_page_cost = 1.1"


# A timestamp (without time zone) as PostgreSQL's binary format holds it: microseconds since 2000-01-01.
POSTGRES_EPOCH = datetime(2000, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """A naive UTC datetime as PostgreSQL's binary format holds a timestamp: microseconds since 2000-01-01."""
    return (moment - POSTGRES_EPOCH) // MICROSECOND


class CopyIn:
    """``COPY table FROM STDIN`` in PostgreSQL's binary format: numbers and timestamps cross as they are.

    Measured on 200 000 rows in 1000-row COPYs (best of 3): binary with psycopg's ``write_row`` spent
    0.09 s of Python time and 0.97 s in all, text lines built in Python 0.29 s and 1.14 s, text through
    ``write_row`` 0.39 s and 1.61 s.

    Rows in the stored form (``encode``; ``encoded=True``) hold each timestamp as ``microseconds``, the integer its
    binary format carries (``int8`` to the COPY: the same eight bytes). A load's parse child pickles them: 0.12 µs a
    row of five integers and a name against 0.53 µs with a datetime, which the writing process unpickles in half
    the time too.
    """

    def __init__(self, table: Table) -> None:
        self.sql = f"COPY {table.name} ({column_list(table)}) FROM STDIN (FORMAT BINARY)"
        self.types = [_binary_type(table, c.name) for c in table.columns]
        self.moments = [i for i, kind in enumerate(self.types) if kind == "timestamp"]
        self.encoded_types = ["int8" if i in self.moments else kind for i, kind in enumerate(self.types)]
        self.checks_references = bool(table.foreign_keys)

    def encode(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row with each timestamp as its ``microseconds``."""
        if self.moments == [2] and len(row) == 5:  # hired_employees, without the loop (an API batch encodes each row)
            a, b, c, d, e = row
            return (a, b, microseconds(c), d, e)
        values = list(row)
        for i in self.moments:
            values[i] = microseconds(values[i])
        return tuple(values)

    def decode(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in self.moments:
            values[i] = POSTGRES_EPOCH + values[i] * MICROSECOND
        return tuple(values)

    def __call__(
        self, conn: Connection, rows: Sequence[tuple[Any, ...]], *, key_checks: bool = True, encoded: bool = False
    ) -> None:
        types = self.encoded_types if encoded else self.types
        with driver_cursor(conn, self.sql) as cursor:
            if self.checks_references and key_checks:
                cursor.execute(INDEXED_REFERENCE_CHECKS)
            for piece in copy_pieces(len(rows)):
                with cursor.copy(self.sql) as copy:
                    copy.set_types(types)
                    write = copy.write_row
                    for row in rows[piece]:
                        write(row)


# PostgreSQL 15 buffers up to 1000 rows of a COPY before it writes them, with a slot for each row buffered at once,
# and registers every slot with the statement's resource owner, which keeps them in a hash table where identical
# entries probe ever further: making and dropping n slots costs in n², once per COPY (perf on the server: a third
# of its time in a 1000-row COPY went to ResourceOwnerRememberTupleDesc and ResourceOwnerForgetTupleDesc). A COPY of
# a batch of SPLIT_FROM to 1000 rows therefore goes as two COPYs of half as many, two round trips more (the
# second COPY's start and end): 300 batches of 1000 rows cost the server 0.53-0.54 s against 0.69-0.75 s,
# 0.74-0.78 s in all against 0.83-0.93 s (two runs each); in four COPYs 0.52-0.60 s, more for the client, and
# 0.80-0.94 s in all. Below SPLIT_FROM rows, or from 1000 on (as many slots as one batch, reused while the rows
# go on), one COPY costs less.
SPLIT_FROM = 700
BUFFERED_ROWS = 1000


def copy_pieces(rows: int) -> list[slice]:
    """The slices of ``rows`` rows that go in a COPY each."""
    if SPLIT_FROM <= rows <= BUFFERED_ROWS:
        half = (rows + 1) // 2
        return [slice(0, half), slice(half, rows)]
    return [slice(0, rows)]


def _binary_type(table: Table, column: str) -> str:
    """PostgreSQL's name for a column's type, as a binary COPY declares it."""
    kind = table.c[column].type
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no binary COPY type for {table.name}.{column} ({kind})")
