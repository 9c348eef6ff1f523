"""The one clock: aware UTC. The database keeps naive UTC; its repositories convert at the boundary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
