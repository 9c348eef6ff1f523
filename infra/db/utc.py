"""The database keeps times as naive UTC (``DateTime(timezone=False)``); the core works in aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def to_column(moment: datetime) -> datetime:
    """An aware time as the naive UTC a column holds; a naive one is taken to be UTC already."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def from_column(value: datetime | None) -> datetime | None:
    """A column's naive UTC as an aware time."""
    return None if value is None else value.replace(tzinfo=UTC)
