"""``SqliteRateLimitStorage``: flask-limiter's counters in one SQLite file, shared by every web process.

On the embedded default there is no Redis, and gunicorn runs several processes: counted in each
process's memory, a client would get the sign-in limit once per process. SQLite locks the file, so
every process on the machine adds to the same count. Only fixed windows (flask-limiter's default)
are supported.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from limits.storage import Storage

SCHEME = "hireflow+sqlite"
LOCK_TIMEOUT_SECONDS = 10

_CREATE = """
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    expires_at REAL NOT NULL
)
"""
# One statement, so SQLite's file lock makes it atomic across processes; an expired window starts again.
_INCREMENT = """
INSERT INTO rate_limits (key, hits, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN rate_limits.expires_at <= :now THEN excluded.hits ELSE rate_limits.hits + excluded.hits END,
    expires_at = CASE WHEN rate_limits.expires_at <= :now THEN excluded.expires_at ELSE rate_limits.expires_at END
RETURNING hits
"""


def storage_uri(path: Path) -> str:
    """The flask-limiter storage URI of a counter file."""
    return f"{SCHEME}://{quote(str(path.resolve()))}"


class SqliteRateLimitStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        if not uri:
            raise ValueError(f"{SCHEME} needs a file: {SCHEME}:///absolute/path")
        self.path = Path(unquote(urlparse(uri).path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute(_CREATE)
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: cheap next to a password check, and never shared across a fork or a thread.
        return sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_SECONDS, isolation_level=None)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with closing(self._connect()) as conn:
            conn.execute("DELETE FROM rate_limits WHERE expires_at <= ?", (now,))
            [(hits,)] = conn.execute(
                _INCREMENT, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now}
            ).fetchall()
        return int(hits)

    def get(self, key: str) -> int:
        row = self._current(key)
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._current(key)
        return float(row[1]) if row else time.time()

    def _current(self, key: str) -> tuple[int, float] | None:
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT hits, expires_at FROM rate_limits WHERE key = ? AND expires_at > ?", (key, time.time())
            ).fetchone()
        return (int(row[0]), float(row[1])) if row else None

    def check(self) -> bool:
        try:
            with closing(self._connect()) as conn:
                conn.execute("SELECT 1 FROM rate_limits LIMIT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with closing(self._connect()) as conn:
            return conn.execute("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        with closing(self._connect()) as conn:
            conn.execute("DELETE FROM rate_limits WHERE key = ?", (key,))
