"""SQLite: a process that opens a database another one has just made, and still holds locked in its first journal
mode, waits for it instead of stopping: a server and a worker started side by side on a new database do that."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from infra.db.engine import check_connection, make_engine

HELD_SECONDS = 0.5


def test_a_connection_waits_for_a_new_database_that_another_holds_before_it_turns_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        # Another process's first moments: the file made, a write under way, the journal not yet WAL.
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("CREATE TABLE made_first (id INTEGER)")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO made_first VALUES (1)")
        held.set()
        time.sleep(HELD_SECONDS)
        other.execute("COMMIT")
        other.close()
        done.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    engine = make_engine(f"sqlite:///{path}")
    try:
        check_connection(engine)  # "database is locked" at once, before it waited
        assert done.is_set()  # it waited for the other to let go
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT id FROM made_first").scalar() == 1
    finally:
        engine.dispose()
        holder.join()
