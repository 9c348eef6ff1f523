"""Engines for SQLite, PostgreSQL and SQL Server / Azure SQL, tuned for bulk loading."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError, OperationalError

from domain.errors import ConfigurationError, Unavailable
from infra.db.bulk import build_missing_secondary
from infra.db.upgrade import upgrade_schema

log = logging.getLogger("hireflow.db")


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3, which has COPY."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# How long a connection attempt may take before it fails with a message saying what to check.
# An Azure SQL login goes through a gateway (redirect, TLS, authentication), so it gets longer.
CONNECT_TIMEOUT_SECONDS = {"postgresql": 5, "mssql": 15}
DEFAULT_PORTS = {"postgresql": 5432, "mssql": 1433}
SERVICE_NAMES = {"postgresql": "PostgreSQL", "mssql": "SQL Server"}


def connect_timeout_args(url: URL) -> dict[str, Any]:
    """The driver's connect timeout, unless the URL sets its own (``connect_timeout``, ``ConnectTimeout``)."""
    backend = url.get_backend_name()
    given = {key.lower() for key in url.query}
    if backend == "postgresql" and "connect_timeout" not in given:
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS[backend]}
    if backend == "mssql" and "connecttimeout" not in given:
        return {"timeout": CONNECT_TIMEOUT_SECONDS[backend]}  # pyodbc sets it as the ODBC login timeout
    return {}


def make_engine(url: str, **options: Any) -> Engine:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid SQLAlchemy URL: {error}") from None
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise Unavailable(
                    f"cannot make the folder {folder} for the SQLite database: {error.strerror}; check DATABASE_URL"
                ) from None
        kwargs["connect_args"] = {"timeout": SQLITE_WAIT_SECONDS}
        # A connection to a file never goes stale: no SELECT 1 each time one leaves the pool (a load takes one
        # a batch).
        kwargs["pool_pre_ping"] = False
        # The connection given back last is handed out first: a load's next batch gets its last batch's connection,
        # whose page cache is still valid (SQLite empties a connection's cache when another one wrote since).
        kwargs["pool_use_lifo"] = True
    elif backend == "mssql":
        kwargs["fast_executemany"] = True
    if timeout := connect_timeout_args(parsed):
        kwargs.setdefault("connect_args", {}).update(timeout)
    kwargs.update(options)
    ping_when_idle = backend == "postgresql" and kwargs["pool_pre_ping"]
    if ping_when_idle:
        kwargs["pool_pre_ping"] = False
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as error:
        raise ConfigurationError(f"DATABASE_URL needs a driver that is not installed: {error}") from None
    if ping_when_idle:
        _ping_when_idle(engine)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _before_sqlite_statement)
    return engine


# Set on every SQLite connection. (The benchmark's SQLite limit sets only WAL and NORMAL, as issue 12 describes
# it: ``bench/limits.py``.)
# How long a SQLite connection waits for another's lock: its busy handler from the moment it connects, and the
# switch of a new database to WAL, which SQLite does not wait for on its own (``_sqlite_pragmas``).
SQLITE_WAIT_SECONDS = 30
SQLITE_PRAGMAS = (
    "foreign_keys=ON",
    # WAL lets the web process read while a worker writes; NORMAL sync is durable
    # across application crashes in WAL mode and much faster than FULL.
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={SQLITE_WAIT_SECONDS * 1000}",
    # 64 MB of page cache instead of 2 MB: the datetime index of a million hires, which
    # every batch touches at random places, stays in memory instead of being read again
    # through the file system on every commit. Pages are taken only as they are used.
    "cache_size=-65536",
    # Checkpoint the WAL every 10 000 pages (40 MB) rather than every 1000: a batch of hires
    # dirties hundreds of index pages, so the default copied them back and synced the file
    # after nearly every commit. What a crash can cost stays what NORMAL already allows.
    "wal_autocheckpoint=10000",
)


# PostgreSQL: a pooled connection is pinged before it is handed out only if it sat in the pool this long. A load
# takes a connection for each 1000-row batch, milliseconds apart, and a ping each time was one more round trip
# per batch (8 % of a load's time on a busy machine); a connection given back that recently was alive then.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "hireflow_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping``, for connections idle in the pool longer than ``PING_AFTER_IDLE_SECONDS`` only."""
    dialect = engine.dialect

    def given_back(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(first_line(error)) from error  # the pool connects again and retries

    event.listen(engine, "checkin", given_back)
    event.listen(engine, "checkout", handed_out)


# Turning a new database's journal into WAL takes the whole file for a moment, and SQLite answers "database is
# locked" at once, without waiting in its busy handler, to a connection that tries while another holds a lock on a
# database not yet in WAL: a server and a worker started side by side on a new database met that, and the worker
# stopped. The switch is tried again, for as long as the busy timeout.
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        if pragma.startswith("journal_mode="):
            _until_not_locked(cursor, f"PRAGMA {pragma}", SQLITE_WAIT_SECONDS)
        else:
            cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _until_not_locked(cursor: Any, statement: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    pause = 0.005
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


class WriterTurn:
    """SQLite's one writer, taken in turns through a lock file beside the database (``<database>-writers.lock``).

    SQLite lets a second writer wait in its busy handler, which sleeps and tries again, up to 100 ms a time:
    8 request threads in 2 web processes and the workers then wait for whoever is lucky, and the slowest
    request waited a second. Here a writer waits in the kernel (``flock``), which wakes it as soon as the
    turn is free, then opens its transaction with ``BEGIN IMMEDIATE``, so it never finds the database
    locked half-way. Every process of the service, on any thread, takes the same turn. A process that dies
    gives its turn back with its file descriptors.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def take(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def give_back(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor of the open file releases its flock


def writer_turn(engine: Engine) -> WriterTurn | None:
    """A turn for a unit of work on a SQLite file; ``None`` where the database has writers of its own (a server)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None  # a URI names no plain file to put the lock beside
    return WriterTurn(f"{url.database}-writers.lock")


# The unit of work leaves its turn on the connection while it runs (``infra/db/unit_of_work.py``).
TURN_KEY = "hireflow_writer_turn"
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+(IMMEDIATE|EXCLUSIVE))\b", re.IGNORECASE)
# A restore's staging tables are TEMPORARY: private to the connection, in SQLite's temp database, so
# filling them takes no lock on the database file and needs no turn (``infra/db/staging.py``).
_STAGING_WRITE = re.compile(r"\s*INSERT\s+INTO\s+staged_", re.IGNORECASE)


# SQLite's foreign-key checks are the connection's (a pragma, outside any transaction). A unit of work that turns them
# off for its own statements (``infra/db/hiring_rows.py``: a bulk batch, a restore) leaves them off when it ends,
# marked ``FOREIGN_KEYS_OFF``: the connection's next unit of work is most often the load's next batch, which wants
# them off again (two pragmas and a commit a batch fewer). While a unit of work wants them off it says so with
# ``WANTS_FOREIGN_KEYS_OFF``; any statement on the connection without it turns them on first, so nothing else ever
# runs on a connection without its checks.
FOREIGN_KEYS_OFF = "hireflow_foreign_keys_off"
WANTS_FOREIGN_KEYS_OFF = "hireflow_wants_foreign_keys_off"


def _before_sqlite_statement(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    info = conn.info
    if FOREIGN_KEYS_OFF in info and WANTS_FOREIGN_KEYS_OFF not in info:
        # The first statement since the connection came out of the pool: no transaction is open.
        cursor.connection.execute("PRAGMA foreign_keys=ON")
        del info[FOREIGN_KEYS_OFF]
    _take_turn_before_writing(conn, cursor, statement, parameters, context, executemany)


def _take_turn_before_writing(
    conn: Connection, cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    turn: WriterTurn | None = conn.info.get(TURN_KEY)
    if turn is None or turn.held or not _WRITES.match(statement) or _STAGING_WRITE.match(statement):
        return
    turn.take()
    dbapi_connection = cursor.connection
    if not dbapi_connection.in_transaction and not statement.lstrip().upper().startswith("BEGIN"):
        dbapi_connection.execute("BEGIN IMMEDIATE")


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (``infra/db/upgrade.py``), then build any secondary index a bulk
    load that crashed left missing (``infra/db/bulk.py``). Safe to run again, and at once."""
    upgrade_schema(engine)
    built = build_missing_secondary(engine)
    for table, names in built.items():
        log.warning("built %s of %s, left missing by a bulk load that stopped", ", ".join(names), table)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; the database being unreachable, or lost mid-way, surfaces as ``Unavailable``."""
    try:
        with engine.connect() as conn:
            yield conn
    except OperationalError as error:
        raise Unavailable("the database cannot be reached", {"reason": first_line(error)}) from None


def check_connection(engine: Engine) -> None:
    """Connect once; a database that cannot be reached, or refuses us, raises ``Unavailable`` saying what to check."""
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        raise Unavailable(connection_error_message(engine.url, error)) from None


# What to check, by the words of the driver's message (psycopg, pyodbc, sqlite3).
HOST_AND_PORT = "that the host and port in DATABASE_URL are right"
_HINTS = (
    (r"timeout|timed out", f"{HOST_AND_PORT} and that no firewall drops the connection"),
    (r"refused|is the server running", f"that the server is running and {HOST_AND_PORT}"),
    (r"resolve|name or service not known|nodename|getaddrinfo|translate host", "the host name in DATABASE_URL"),
    (
        r"database .*does not exist|cannot open database",
        "the database name in DATABASE_URL (hireflow makes the tables, not the database)",
    ),
    (r"role .*does not exist|password|login failed|authentication", "the user name and password in DATABASE_URL"),
    (r"pg_hba|not allowed to access|firewall", "that the server's firewall or pg_hba.conf lets this machine in"),
)


def connection_error_message(url: URL, error: Exception) -> str:
    """One line: which database, where, what the driver said, what to check; never the password."""
    reason = _driver_reason(error)
    if url.password:
        reason = reason.replace(str(url.password), "***")
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"cannot open the SQLite database {url.database}: {reason}; check that its folder is writable"
    hint = next((hint for words, hint in _HINTS if re.search(words, reason, re.IGNORECASE)), "DATABASE_URL")
    host = f"{url.host or 'localhost'}:{url.port or DEFAULT_PORTS.get(backend, '')}"
    return (
        f"cannot connect to {SERVICE_NAMES.get(backend, backend)} at {host}, database {url.database!r} "
        f"as user {url.username!r}: {reason}; check {hint}"
    )


def _driver_reason(error: Exception) -> str:
    """The driver's words, without psycopg's "connection to server at ... failed:" or ODBC's [bracketed] prefixes."""
    text = first_line(error).strip()
    text = re.sub(r"^.*?connection to server at .*?, port \d+ failed: ", "", text)
    text = re.sub(r"^(\[[^\]]*\]\s*)+", "", text)
    return re.sub(r"^FATAL:\s*", "", text) or type(error).__name__


def first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", error))
    return text.splitlines()[0] if text else type(error).__name__
