"""The honest limits of issue 12: the same rows into the same table of the same database, with nothing of the
project in the way. The table, its secondary indexes and its foreign keys come from ``infra/db/schema.py`` and
the project's own migrations, so each limit ends with exactly the indexes the project's table has.

- ingest, SQLite: ``csv.reader`` → ``executemany`` in 1000-row transactions (WAL) into the table without its
  secondary indexes, then the indexes built;
- ingest, PostgreSQL: one ``COPY`` into the table without secondary indexes and foreign keys, then both built;
- backup: a plain fastavro writer over the rows read from the same database (the schema and codec of our file);
- restore: a fastavro reader → ``executemany`` (PostgreSQL: ``COPY``) into the table without secondary indexes
  (and foreign keys), then those built.

Each function returns the seconds it took, the build of the indexes included, and the seconds of that build.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import fastavro
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import AddConstraint, CreateIndex

from bench.runner import stopwatch
from infra.db.engine import make_engine
from infra.db.schema import hired_employees

TABLE = hired_employees.name
COLUMNS = tuple(c.name for c in hired_employees.columns)
BATCH = 1000
# The pragmas the issue gives the SQLite limit: WAL, with the synchronous level WAL is meant to run with.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")
READ_CHUNK = 10_000
EPOCH = datetime(1970, 1, 1)  # the database keeps naive UTC
MICROSECOND = timedelta(microseconds=1)


def strip_table(engine: Engine) -> None:
    """Drop the table's secondary indexes and, on PostgreSQL, its foreign keys: what each limit loads without."""
    found = inspect(engine)
    indexes = [ix["name"] for ix in found.get_indexes(TABLE) if ix["name"]]
    keys = [fk["name"] for fk in found.get_foreign_keys(TABLE) if fk["name"]] if _keeps_keys(engine.dialect) else []
    with engine.begin() as conn:
        for name in keys:
            conn.execute(text(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"'))
        for name in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))


def _keeps_keys(dialect: Dialect) -> bool:
    # SQLite cannot drop a foreign key without rebuilding the table; a raw sqlite3 connection does not check them.
    return dialect.name != "sqlite"


def build_statements(dialect: Dialect) -> list[str]:
    """What puts back what ``strip_table`` dropped, from the table definition in ``infra/db/schema.py``."""
    indexes = sorted(hired_employees.indexes, key=lambda ix: str(ix.name))
    statements = [str(CreateIndex(ix).compile(dialect=dialect)) for ix in indexes]
    if _keeps_keys(dialect):
        keys = hired_employees.foreign_key_constraints
        statements += [str(AddConstraint(fk).compile(dialect=dialect)) for fk in keys]
    return statements


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _sqlite(url: str) -> tuple[sqlite3.Connection, list[str]]:
    engine = make_engine(url)
    try:
        strip_table(engine)
        statements = build_statements(engine.dialect)
    finally:
        engine.dispose()
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn, statements


def _insert_sql(marker: str) -> str:
    return f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join([marker] * len(COLUMNS))})"


def _build(cursor: Any, statements: list[str]) -> float:
    with stopwatch() as elapsed:
        for statement in statements:
            cursor.execute(statement)
    return elapsed[0]


def sqlite_ingest(url: str, csv_file: Path) -> tuple[float, float]:
    """``url`` holds the project's schema (and the parents); the rows of ``csv_file`` are loaded into it."""
    conn, statements = _sqlite(url)
    sql = _insert_sql("?")
    try:
        with stopwatch() as elapsed, open(csv_file, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            while batch := list(islice(reader, BATCH)):
                conn.execute("BEGIN")
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
            conn.execute("BEGIN")
            build = _build(conn, statements)
            conn.execute("COMMIT")
    finally:
        conn.close()
    return elapsed[0], build


def _postgres_copy(url: str, sql: str, feed: Callable[[Any], None]) -> tuple[float, float]:
    """The table of ``url`` stripped, then one ``COPY`` (``sql``) that ``feed`` writes into, then the indexes and
    foreign keys, in one transaction: its seconds, and those of the build."""
    engine = make_engine(url)
    strip_table(engine)
    statements = build_statements(engine.dialect)
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with stopwatch() as elapsed:
            with cursor.copy(sql) as copy:
                feed(copy)
            build = _build(cursor, statements)
            raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return elapsed[0], build


def postgres_ingest(url: str, csv_file: Path) -> tuple[float, float]:
    """One ``COPY … (FORMAT csv)`` of ``csv_file``, then the indexes and foreign keys, in one transaction."""

    def feed(copy: Any) -> None:
        with open(csv_file, "rb") as handle:
            while chunk := handle.read(1 << 16):
                copy.write(chunk)

    return _postgres_copy(url, f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)", feed)


def avro_layout(backup_file: Path) -> tuple[Any, str]:
    """The schema and codec of one of our backup files: what the backup limit writes with."""
    with open(backup_file, "rb") as handle:
        reader = fastavro.reader(handle)
        return reader.writer_schema, str(reader.metadata.get("avro.codec", "null"))


def backup(url: str, backup_file: Path, out: Path) -> float:
    """Read the table from ``url`` in id order and write it with a plain ``fastavro.writer``."""
    schema, codec = avro_layout(backup_file)
    names = [field["name"] for field in schema["fields"]]
    parsed = fastavro.parse_schema(schema)
    engine = make_engine(url)
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        if sqlite:
            cursor = raw.cursor()
        else:
            cursor = raw.driver_connection.cursor(name="bench_backup_limit")  # type: ignore[union-attr]  # server-side: memory stays flat
            cursor.itersize = READ_CHUNK
        when = names.index("datetime")

        def records() -> Iterator[dict[str, Any]]:
            # The timestamp as the micros Avro stores, in integer arithmetic: fastavro would take a naive
            # datetime through time.mktime, much slower, and read it as local time.
            while rows := cursor.fetchmany(READ_CHUNK):
                for row in rows:
                    record = dict(zip(names, row, strict=True))
                    moment = row[when]
                    if sqlite:  # SQLite keeps the datetime as text
                        moment = datetime.fromisoformat(moment)
                    record["datetime"] = (moment - EPOCH) // MICROSECOND
                    yield record

        with stopwatch() as elapsed, open(out, "wb") as handle:
            cursor.execute(f"SELECT {', '.join(names)} FROM {TABLE} ORDER BY id")
            fastavro.writer(handle, parsed, records(), codec=codec)
        cursor.close()
    finally:
        raw.close()
        engine.dispose()
    return elapsed[0]


def _avro_rows(handle: Any) -> Iterator[tuple[Any, ...]]:
    record: Any
    for record in fastavro.reader(handle):
        yield tuple(record[name] for name in COLUMNS)


def restore(url: str, backup_file: Path) -> tuple[float, float]:
    """``url`` holds the project's schema and the parents, and no employee; the backup is loaded into it."""
    if url.startswith("sqlite"):
        conn, statements = _sqlite(url)
        sql = _insert_sql("?")
        try:
            with stopwatch() as elapsed, open(backup_file, "rb") as handle:
                rows = _avro_rows(handle)
                conn.execute("BEGIN")
                while batch := list(islice(rows, BATCH)):
                    conn.executemany(sql, batch)
                build = _build(conn, statements)
                conn.execute("COMMIT")
        finally:
            conn.close()
        return elapsed[0], build

    def feed(copy: Any) -> None:
        with open(backup_file, "rb") as handle:
            for row in _avro_rows(handle):
                copy.write_row(row)

    return _postgres_copy(url, f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN", feed)
