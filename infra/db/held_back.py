"""PostgreSQL: a unit of work's statements whose result nobody reads, held back and sent in one round trip.

A batch of a load writes its rejections, its checkpoint and its summary, then reports the job's progress (whose
answer says whether the job is still this worker's) and commits. Sent one by one, each of those writes waits
for the server's answer before the next one leaves. Held back here, they go in one psycopg pipeline together
with the next statement that has a result (``query``). Any other statement on the connection, and the commit,
sends them first (``send``; SQLAlchemy's statements through an event), so the server always sees the
statements in the order they were made. An error in one of them comes out of the call that sent it, inside
the same transaction, which then rolls back as a whole.

Only a unit of work holds statements back (``hold_back``), and it forgets them when it ends (``forget``);
elsewhere ``execute_later`` runs a statement at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event

from infra.db.postgres import driver_cursor, uses_psycopg

_KEY = "hireflow.held_back"
Parameters = Sequence[Any] | Mapping[str, Any]
Statement = tuple[str, Parameters]


def hold_back(conn: Connection) -> None:
    """From now on ``execute_later`` on ``conn`` holds its statements back until something else is sent."""
    conn.info[_KEY] = []


def forget(conn: Connection) -> None:
    """Drop what is held back (the transaction rolls back) and execute at once from now on."""
    conn.info.pop(_KEY, None)


def execute_later(conn: Connection, sql: str, params: Parameters) -> None:
    """Run ``sql`` with the next statement that needs an answer, or now if nothing is held back on ``conn``."""
    held: list[Statement] | None = conn.info.get(_KEY)
    if held is not None:
        held.append((sql, params))
        return
    with driver_cursor(conn, sql) as cursor:
        cursor.execute(sql, params)


def query(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, sent in one round trip with the statements held back before it."""
    held = _take(conn)
    with driver_cursor(conn, sql) as cursor:
        if not held:
            return list(cursor.execute(sql, params).fetchall())
        # Leaving the pipeline sends it, with a Sync, and reads every result: the cursor then holds its rows.
        with cursor.connection.pipeline():
            _execute(cursor, held)
            cursor.execute(sql, params)
        return list(cursor.fetchall())


def send(conn: Connection) -> None:
    """Send what is held back on ``conn`` now, in one round trip."""
    held = _take(conn)
    if held:
        with driver_cursor(conn, held[0][0]) as cursor, cursor.connection.pipeline():
            _execute(cursor, held)


def commit(conn: Connection) -> None:
    """Send what is held back, then commit ``conn``'s transaction."""
    send(conn)
    conn.commit()


def send_before_each_statement(engine: Engine) -> None:
    """Make every statement SQLAlchemy sends on ``engine`` go after what was held back before it."""
    if uses_psycopg(engine.dialect) and not event.contains(engine, "before_cursor_execute", _send_first):
        event.listen(engine, "before_cursor_execute", _send_first)


def _send_first(conn: Connection, *_args: Any) -> None:
    if conn.info.get(_KEY):
        send(conn)


def _take(conn: Connection) -> list[Statement]:
    held: list[Statement] | None = conn.info.get(_KEY)
    if not held:
        return []
    conn.info[_KEY] = []
    return held


def _execute(cursor: Any, statements: list[Statement]) -> None:
    for sql, params in statements:
        cursor.execute(sql, params)
